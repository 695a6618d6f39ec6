export { AppArmorError, ErrorCodes, isAppArmorError } from './errors'
export type { AppArmorErrorDetails, ErrorCode } from './errors'

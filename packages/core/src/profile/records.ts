/**
 * The kernel's AppArmor audit records, parsed. Two sources print the same record body:
 *
 *   /dev/kmsg (no auditd):   audit: type=1400 audit(1765080000.123:45): apparmor="ALLOWED" operation="open" …
 *   /var/log/audit/audit.log: type=AVC msg=audit(1765080000.123:45): apparmor="ALLOWED" operation="open" …
 *
 * The body is `key=value` pairs: a value is either `"quoted"` (no escapes: the kernel hex-encodes
 * any value that would need them) or bare; a bare value of a string field (name, comm, target,
 * peer, profile, …) is that string hex-encoded (`name=2F746D702F612062`). Every field is kept;
 * the ones the rule builder reads are typed.
 */

/** Fields the kernel hex-encodes when they hold a space, a quote or a control character. */
const STRING_FIELDS = new Set([
  'apparmor',
  'operation',
  'profile',
  'label',
  'name',
  'name2',
  'comm',
  'target',
  'peer',
  'info',
  'requested_mask',
  'denied_mask',
  'requested',
  'denied',
  'family',
  'sock_type',
  'signal',
  'addr',
  'peer_addr',
  'fstype',
  'srcname',
  'flags',
  'capname',
  'class',
  'exe',
  'peer_label',
  'namespace',
])

export interface AuditRecord {
  /** ALLOWED (complain), DENIED, AUDIT, STATUS, HINT, KILL… */
  readonly verdict: string
  readonly operation: string
  /** The confining profile the access was checked against (`profile=`, or `label=` on newer kernels). */
  readonly profile: string
  readonly pid: number | undefined
  readonly name: string | undefined
  readonly requested: string | undefined
  readonly denied: string | undefined
  readonly fsuid: number | undefined
  readonly ouid: number | undefined
  readonly target: string | undefined
  readonly family: string | undefined
  readonly sockType: string | undefined
  readonly protocol: number | undefined
  readonly signal: string | undefined
  readonly peer: string | undefined
  readonly info: string | undefined
  readonly capname: string | undefined
  /** `audit(<time>:<serial>)`, when the line carried it. */
  readonly serial: string | undefined
  /** Every field as read (hex-decoded where it applies). */
  readonly fields: Readonly<Record<string, string>>
  /** The line the record was read from. */
  readonly raw: string
}

function decodeBare(key: string, value: string): string {
  if (STRING_FIELDS.has(key) && value.length % 2 === 0 && value.length > 0 && /^[0-9A-F]+$/.test(value)) {
    return Buffer.from(value, 'hex').toString('utf8')
  }
  return value
}

/** The `key=value` pairs of a record body, in order (quoted values unquoted, hex decoded). */
export function parseFields(text: string): Record<string, string> {
  // auditd's enriched format separates its own (upper-case) fields with a group separator
  const body = text.replace(/\x1d/g, ' ')
  const fields: Record<string, string> = {}
  let i = 0
  const n = body.length
  while (i < n) {
    while (i < n && body[i] === ' ') i++
    const eq = body.indexOf('=', i)
    if (eq < 0) break
    const key = body.slice(i, eq)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      // not a field (a stray word): skip it
      const sp = body.indexOf(' ', i)
      if (sp < 0) break
      i = sp + 1
      continue
    }
    let value: string
    if (body[eq + 1] === '"') {
      const close = body.indexOf('"', eq + 2)
      const end = close < 0 ? n : close
      value = body.slice(eq + 2, end)
      i = end + 1
    } else {
      const sp = body.indexOf(' ', eq + 1)
      const end = sp < 0 ? n : sp
      value = decodeBare(key, body.slice(eq + 1, end))
      i = end
    }
    // the first occurrence wins (audit.log appends its own fields after the kernel's)
    if (!(key in fields)) fields[key] = value
  }
  return fields
}

const int = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined
  return Number(v)
}

/** Parses one line; null when it holds no AppArmor record (`apparmor=` field). */
export function parseRecord(line: string): AuditRecord | null {
  const at = line.indexOf('apparmor=')
  if (at < 0) return null
  const serialMatch = /audit\(([0-9.]+:\d+)\)/.exec(line)
  const fields = parseFields(line.slice(at))
  const verdict = fields['apparmor']
  if (verdict === undefined) return null
  return {
    verdict,
    operation: fields['operation'] ?? '',
    profile: fields['profile'] ?? fields['label'] ?? '',
    pid: int(fields['pid']),
    name: fields['name'],
    requested: fields['requested_mask'] ?? fields['requested'],
    denied: fields['denied_mask'] ?? fields['denied'],
    fsuid: int(fields['fsuid']),
    ouid: int(fields['ouid']),
    target: fields['target'],
    family: fields['family'],
    sockType: fields['sock_type'],
    protocol: int(fields['protocol']),
    signal: fields['signal'],
    peer: fields['peer'] ?? fields['peer_label'],
    info: fields['info'],
    capname: fields['capname'],
    serial: serialMatch?.[1],
    fields,
    raw: line,
  }
}

/** Every AppArmor record of a text (one record per line); other lines are skipped. */
export function parseRecords(text: string): AuditRecord[] {
  const out: AuditRecord[] = []
  for (const line of text.split('\n')) {
    const r = parseRecord(line)
    if (r) out.push(r)
  }
  return out
}

/**
 * The records that belong to these profiles: `profile=` is one of them, or a child of one
 * (`NAME//null-/usr/bin/x`, what complain mode runs an unknown exec under). The same access
 * logged twice (audit.log and a kmsg copy) is kept once, by serial.
 */
export function recordsFor(records: readonly AuditRecord[], profiles: readonly string[]): AuditRecord[] {
  const names = new Set(profiles)
  const seen = new Set<string>()
  const out: AuditRecord[] = []
  for (const r of records) {
    const base = r.profile.split('//')[0]!
    if (!names.has(base)) continue
    if (r.serial !== undefined) {
      const key = `${r.serial}|${r.operation}|${r.name ?? ''}`
      if (seen.has(key)) continue
      seen.add(key)
    }
    out.push(r)
  }
  return out
}

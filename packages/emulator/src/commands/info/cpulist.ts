import type { SystemView } from './view'

/**
 * CPU sets as the kernel prints them: lists (`0-3,8`, /sys/devices/system/cpu/online,
 * Cpus_allowed_list) and hex masks (`00000000,0000000f`, topology/thread_siblings).
 */

/** The CPUs of a canonical list, or undefined when the text is not one. */
export function parseCpuList(text: string): number[] | undefined {
  const line = text.endsWith('\n') ? text.slice(0, -1) : text
  if (line === '') return []
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(line)) return undefined
  const out: number[] = []
  for (const part of line.split(',')) {
    const [a, b] = part.split('-')
    const lo = Number(a)
    const hi = b === undefined ? lo : Number(b)
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi - lo > 1 << 20) return undefined
    for (let c = lo; c <= hi; c++) out.push(c)
  }
  return out
}

/**
 * How many CPUs glibc (2.36–2.41 read_sysfs_file) counts in a list: the sum of its ranges,
 * a reversed range counting nothing. Undefined for text glibc would parse differently.
 */
export function glibcCpuCount(text: string): number | undefined {
  const nl = text.indexOf('\n')
  const line = nl < 0 ? text : text.slice(0, nl)
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(line)) return undefined
  let total = 0
  for (const part of line.split(',')) {
    const [a, b] = part.split('-')
    const n = Number(a)
    const m = b === undefined ? n : Number(b)
    if (!Number.isSafeInteger(n) || !Number.isSafeInteger(m)) return undefined
    if (m >= n) total += m - n + 1
  }
  return total
}

/** The CPUs of a hex mask (comma-separated 32-bit words, most significant first). */
export function parseCpuMask(text: string): Set<number> | undefined {
  const line = text.trim()
  if (!/^[0-9a-fA-F]+(,[0-9a-fA-F]+)*$/.test(line)) return undefined
  const digits = line.replace(/,/g, '')
  const out = new Set<number>()
  for (let i = 0; i < digits.length; i++) {
    const nibble = parseInt(digits[digits.length - 1 - i]!, 16)
    for (let bit = 0; bit < 4; bit++) if (nibble & (1 << bit)) out.add(i * 4 + bit)
  }
  return out
}

/**
 * /sys/devices/system/cpu/possible, read once per view: the kernel fixes cpu_possible_mask at
 * boot (hotplug changes `online` and `present`, never `possible`).
 */
export function possibleCpus(view: SystemView): string | undefined {
  return view.once('cpu possible', () => view.readText('/sys/devices/system/cpu/possible'))
}

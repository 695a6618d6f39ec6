'use strict'
// The sandboxed processor: BullMQ runs it in a child process that starts in the
// bullmq-processor AppArmor profile from its first instruction. It renders a receipt from a
// template of the app and returns it with a digest: it reads the app's files and computes,
// and may do nothing else (no network, no writes, no exec: see apparmor/bullmq-worker).
const crypto = require('node:crypto')
const fs = require('node:fs/promises')
const path = require('node:path')

const TEMPLATE = path.join(__dirname, 'templates', 'receipt.txt')

module.exports = async function renderReceipt(job) {
  const { customer, items } = job.data
  const total = items.reduce((sum, item) => sum + item.price * item.quantity, 0)
  const lines = items.map((item) => `${item.quantity} x ${item.name}`).join(', ')
  const digest = crypto.createHash('sha256').update(JSON.stringify(job.data)).digest('hex').slice(0, 16)
  const template = await fs.readFile(TEMPLATE, 'utf8')
  const text = template
    .replace('{{id}}', String(job.id))
    .replace('{{customer}}', customer)
    .replace('{{items}}', lines)
    .replace('{{total}}', total.toFixed(2))
    .replace('{{digest}}', digest)
  return { text, total, digest, pid: process.pid }
}

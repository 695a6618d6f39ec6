// The profile file writer (src/profile/writer.ts): layout, variables with several values or
// spaces, flags, and that what it writes compiles with apparmor_parser against the kernel's features.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { runParser } from '../../src/profile/learn'
import { renderProfileFile } from '../../src/profile/writer'

const FEATURES = '/usr/share/apparmor-features/features'

const text = renderProfileFile({
  header: ['learned', '', 'by a test'],
  variables: [
    { name: 'APP_DIR', values: ['/srv/my app'], comment: 'where it is' },
    { name: 'APP_DEPS', values: ['/srv/my app/node_modules', '/opt/shared/node_modules'] },
  ],
  profiles: [
    {
      name: 'w-boot',
      flags: ['complain'],
      includes: ['abstractions/base'],
      groups: [
        { id: 'app', rules: ['@{APP_DIR}/server.js r,'] },
        { id: 'change_profile', rules: ['change_profile -> w,'] },
      ],
    },
    {
      name: 'w',
      comment: ['3 records'],
      includes: ['abstractions/base'],
      groups: [
        { id: 'deps', rules: ['@{APP_DEPS}/x/index.js r,'] },
        // A data directory with a space, as rules.ts quotes it (unquoted, the parser rejects the file).
        { id: 'data', rules: ['"/var/lib/my app/" r,', '"/var/lib/my app/**" rwk,'] },
        { id: 'network', rules: ['network inet stream,'] },
        { id: 'exec', rules: ['# NOT granted: /usr/bin/git'] },
      ],
    },
  ],
})

t.test('layout', async (t) => {
  t.equal(
    text,
    [
      '# learned',
      '#',
      '# by a test',
      'abi <abi/3.0>,',
      'include <tunables/global>',
      '',
      '# where it is',
      '@{APP_DIR}="/srv/my app"',
      '@{APP_DEPS}="/srv/my app/node_modules" /opt/shared/node_modules',
      '',
      'profile w-boot flags=(complain) {',
      '  include <abstractions/base>',
      '',
      "  # the application's own files (read-only; m where a native addon was mapped)",
      '  @{APP_DIR}/server.js r,',
      '',
      '  # profile changes',
      '  change_profile -> w,',
      '}',
      '',
      '# 3 records',
      'profile w {',
      '  include <abstractions/base>',
      '',
      '  # its dependencies (read-only; m for native addons)',
      '  @{APP_DEPS}/x/index.js r,',
      '',
      '  # the data directories (--data-dir): read and written below them',
      '  "/var/lib/my app/" r,',
      '  "/var/lib/my app/**" rwk,',
      '',
      '  # network families and socket types used',
      '  network inet stream,',
      '',
      '  # programs executed',
      '  # NOT granted: /usr/bin/git',
      '}',
      '',
    ].join('\n'),
  )
})

t.test('compiles', { skip: fs.existsSync(FEATURES) ? false : 'no feature file' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-writer-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'w'), text)
  t.doesNotThrow(() => runParser(path.join(dir, 'w'), 'compile', ['--kernel-features', FEATURES]))
  fs.writeFileSync(path.join(dir, 'bad'), text.replace('network inet stream,', 'network inet bogus,'))
  t.throws(() => runParser(path.join(dir, 'bad'), 'compile', ['--kernel-features', FEATURES]), { code: 'ERR_AA_PROFILE_LOAD', message: /apparmor_parser .* failed/ }, 'the compile check can fail')
})

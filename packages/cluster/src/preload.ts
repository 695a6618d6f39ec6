/**
 * The preload that onWorkerFork() adds (`--require`) to the execArgv of every worker it forks,
 * ahead of the application's own preloads. It runs after Node has set up the worker's IPC
 * channel and before any application code: the worker confirms its label to the primary here,
 * or exits if it is not confined. In any other process (a child the worker starts with its
 * execArgv, for example) it does nothing: the primary's instructions are only in the
 * environment of the worker itself, which removes them when it reads them.
 */
import { checkWorker } from './worker'

checkWorker('preload')

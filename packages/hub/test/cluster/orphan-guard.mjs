// Preloaded (node --import) into every `tether start` the cluster harness spawns. The harness
// holds the write end of the child's stdin and never writes to it: when the test runner goes
// away in any manner (a crash, a kill -9, a timeout that tears the worker down), the pipe
// closes and the instance kills itself, so no hub outlives the test that started it.
process.stdin.on('end', () => process.kill(process.pid, 'SIGKILL'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGKILL'));
process.stdin.resume();

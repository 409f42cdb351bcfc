import assert from "node:assert/strict";
import { test } from "node:test";
import { describeSignal, type SignalName } from "../src/signal_names.ts";

test("describeSignal: the signals bgworker sends or handles, with Linux's numbers and strsignal's text", () => {
  const expected: Record<SignalName, string> = {
    SIGHUP: "signal 1: Hangup",
    SIGINT: "signal 2: Interrupt",
    SIGQUIT: "signal 3: Quit",
    SIGKILL: "signal 9: Killed",
    SIGUSR1: "signal 10: User defined signal 1",
    SIGUSR2: "signal 12: User defined signal 2",
    SIGTERM: "signal 15: Terminated",
  };
  for (const [signal, text] of Object.entries(expected)) assert.equal(describeSignal(signal), text);
});

test("describeSignal: the crash signals a worker can die of, as PostgreSQL's LogChildExit prints them", () => {
  assert.equal(describeSignal("SIGILL"), "signal 4: Illegal instruction");
  assert.equal(describeSignal("SIGTRAP"), "signal 5: Trace/breakpoint trap");
  assert.equal(describeSignal("SIGABRT"), "signal 6: Aborted");
  assert.equal(describeSignal("SIGBUS"), "signal 7: Bus error");
  assert.equal(describeSignal("SIGFPE"), "signal 8: Floating point exception");
  assert.equal(describeSignal("SIGSEGV"), "signal 11: Segmentation fault");
  assert.equal(describeSignal("SIGPIPE"), "signal 13: Broken pipe");
  assert.equal(describeSignal("SIGALRM"), "signal 14: Alarm clock");
});

test("describeSignal: a signal it has no number for is named as given", () => {
  assert.equal(describeSignal("SIGWINCH"), "signal SIGWINCH");
  assert.equal(describeSignal(""), "signal ");
});

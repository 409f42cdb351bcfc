import assert from "node:assert/strict";
import { test } from "node:test";
import {
  descriptorPath,
  type LibcCalls,
  LINUX,
  mapperFromLibc,
  PAGE_SIZE,
  requireLinux,
  SharedMemoryError,
} from "../src/shmem/mapper.ts";

/** A C library that records its calls; `fail` makes one call fail with an errno. */
function fakeLibc(fail: Partial<Record<"shmOpen" | "ftruncate" | "mapShared" | "shmUnlink", number>> = {}) {
  const calls: string[] = [];
  let errno = 0;
  const failing = (name: keyof typeof fail) => {
    if (fail[name] === undefined) return false;
    errno = fail[name]!;
    return true;
  };
  const libc: LibcCalls = {
    shmOpen(name, flags, mode) {
      calls.push(`shm_open ${name} ${flags.toString(8)} ${mode.toString(8)}`);
      return failing("shmOpen") ? -1 : 7;
    },
    open(path, flags) {
      calls.push(`open ${path} ${flags.toString(8)}`);
      return failing("shmOpen") ? -1 : 9;
    },
    ftruncate(fd, size) {
      calls.push(`ftruncate ${fd} ${size}`);
      return failing("ftruncate") ? -1 : 0;
    },
    mapShared(fd, size, offset) {
      calls.push(`mmap ${fd} ${size} ${offset}`);
      return failing("mapShared") ? null : new ArrayBuffer(size);
    },
    close(fd) {
      calls.push(`close ${fd}`);
      return 0;
    },
    shmUnlink(name) {
      calls.push(`shm_unlink ${name}`);
      return failing("shmUnlink") ? -1 : 0;
    },
    errno: () => errno,
  };
  return { libc, calls };
}

test("mapperFromLibc: create opens with O_RDWR|O_CREAT|O_EXCL and mode 0600, sizes the segment, maps it and closes the descriptor", () => {
  const { libc, calls } = fakeLibc();
  const buffer = mapperFromLibc(libc, () => []).create("/bgworker.1", 8192);
  assert.equal(buffer.byteLength, 8192);
  assert.equal(LINUX.O_RDWR | LINUX.O_CREAT | LINUX.O_EXCL, 0o302);
  assert.deepEqual(calls, ["shm_open /bgworker.1 302 600", "ftruncate 7 8192", "mmap 7 8192 0", "close 7"]);
});

test("mapperFromLibc: attach opens O_RDWR without sizing, from a page-aligned offset", () => {
  const { libc, calls } = fakeLibc();
  const mapper = mapperFromLibc(libc, () => []);
  mapper.attach("/bgworker.1", 100, 2 * PAGE_SIZE);
  mapper.attach("/bgworker.1", 4096);
  assert.deepEqual(calls, [
    "shm_open /bgworker.1 2 600",
    "mmap 7 100 8192",
    "close 7",
    "shm_open /bgworker.1 2 600",
    "mmap 7 4096 0",
    "close 7",
  ]);
});

test("mapperFromLibc: sizes and offsets are checked before the C library is called", () => {
  const { libc, calls } = fakeLibc();
  const mapper = mapperFromLibc(libc, () => []);
  for (const size of [0, -1, 1.5, Number.NaN]) assert.throws(() => mapper.create("/s", size), RangeError);
  for (const offset of [1, PAGE_SIZE / 2, -PAGE_SIZE]) {
    assert.throws(() => mapper.attach("/s", 10, offset), /offset must be a non-negative multiple of 4096/);
  }
  assert.deepEqual(calls, []);
});

test("mapperFromLibc: a failed call is a SharedMemoryError naming it, the segment and the errno, and the descriptor is still closed", () => {
  const cases: [Parameters<typeof fakeLibc>[0], RegExp, string[]][] = [
    [{ shmOpen: LINUX.EEXIST }, /could not shm_open shared memory segment "\/s": it already exists/, [
      "shm_open /s 302 600",
    ]],
    [{ ftruncate: 28 }, /could not ftruncate shared memory segment "\/s": errno 28/, [
      "shm_open /s 302 600",
      "ftruncate 7 4096",
      "close 7",
    ]],
    [{ mapShared: 12 }, /could not mmap shared memory segment "\/s": errno 12/, [
      "shm_open /s 302 600",
      "ftruncate 7 4096",
      "mmap 7 4096 0",
      "close 7",
    ]],
  ];
  for (const [fail, message, expectedCalls] of cases) {
    const { libc, calls } = fakeLibc(fail);
    assert.throws(() => mapperFromLibc(libc, () => []).create("/s", 4096), (error: unknown) => {
      assert.ok(error instanceof SharedMemoryError);
      assert.equal(error.name, "SharedMemoryError");
      assert.match(error.message, message);
      assert.equal(error.errno, Object.values(fail!)[0]);
      return true;
    });
    assert.deepEqual(calls, expectedCalls);
  }
});

test("mapperFromLibc: unlink ignores a name that is already gone and reports any other failure; list is the runtime's", () => {
  assert.doesNotThrow(() => mapperFromLibc(fakeLibc({ shmUnlink: LINUX.ENOENT }).libc, () => []).unlink("/gone"));
  assert.throws(
    () => mapperFromLibc(fakeLibc({ shmUnlink: 13 }).libc, () => []).unlink("/x"),
    /could not shm_unlink shared memory segment "\/x": errno 13/,
  );
  assert.deepEqual(mapperFromLibc(fakeLibc().libc, () => ["/bgworker.1.1"]).list(), ["/bgworker.1.1"]);
});

test("SharedMemoryError: PostgreSQL-style text for EEXIST and ENOENT, the errno otherwise", () => {
  assert.equal(
    new SharedMemoryError("shm_open", "/a", LINUX.EEXIST).message,
    'could not shm_open shared memory segment "/a": it already exists',
  );
  assert.equal(
    new SharedMemoryError("shm_open", "/a", LINUX.ENOENT).message,
    'could not shm_open shared memory segment "/a": no such segment',
  );
  assert.equal(new SharedMemoryError("mmap", "/a", 0).errno, 0);
});

test("requireLinux: Linux passes; any other platform is refused saying that everything else works", () => {
  assert.doesNotThrow(() => requireLinux("linux"));
  for (const platform of ["darwin", "win32", "freebsd"]) {
    assert.throws(
      () => requireLinux(platform),
      new RegExp(`shared memory is not available on ${platform}.*everything else works without it`),
    );
  }
});

test("mapperFromLibc: createUnnamed maps a new segment, keeps a descriptor and removes the name at once; attach takes a /proc path", () => {
  const { libc, calls } = fakeLibc();
  const mapper = mapperFromLibc(libc, () => []);
  const { buffer, fd } = mapper.createUnnamed!("/bgworker.1", 8192);
  assert.deepEqual([buffer.byteLength, fd], [8192, 7]);
  assert.deepEqual(calls, [
    "shm_open /bgworker.1 302 600",
    "ftruncate 7 8192",
    "mmap 7 8192 0",
    "close 7",
    "shm_open /bgworker.1 2 600",
    "shm_unlink /bgworker.1",
  ]);
  calls.length = 0;
  mapper.attach(descriptorPath(4242, 7), 4096);
  mapper.closeDescriptor!(7);
  assert.deepEqual(calls, ["open /proc/4242/fd/7 2", "mmap 9 4096 0", "close 9", "close 7"]);
});

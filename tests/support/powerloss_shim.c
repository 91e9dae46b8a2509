// LD_PRELOAD shim for the power-loss test (tests/api/powerloss.rs): every write, truncation and
// fsync/fdatasync of a file under $POWERLOSS_DIR is passed through and recorded, in the order
// the process made them, in the journal $POWERLOSS_JOURNAL. After a SIGKILL the test rebuilds
// the directory as a power cut would have left it: each file keeps only what was written
// before its last sync.
//
// A record, little-endian: kind ('W' write, 'T' truncate to `offset`, 'S' synced), u32 path
// length, the path, u64 offset, u64 length, then `length` bytes for 'W'.
//
// A tracked write and its record are made under one lock, and so are a sync and its record: the
// journal's order is the order the kernel saw them in, so a write before a sync in the journal
// was in the file when the sync began.
//
// Build: gcc -shared -fPIC -O2 -o powerloss_shim.so powerloss_shim.c -ldl -lpthread
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *dir;  // with a trailing '/'
static size_t dir_len;
static int journal = -1;
static char *paths[MAX_FD];  // the tracked fds' files

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_creat)(const char *, mode_t);
static int (*real_creat64)(const char *, mode_t);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static void die(const char *what) {
  // Silence here would make the test pass for the wrong reason: stop the process instead.
  static const char msg[] = "powerloss_shim: cannot ";
  real_write(2, msg, sizeof msg - 1);
  real_write(2, what, strlen(what));
  real_write(2, "\n", 1);
  abort();
}

static void init(void) {
#define REAL(name) real_##name = dlsym(RTLD_NEXT, #name)
  REAL(open); REAL(open64); REAL(openat); REAL(openat64); REAL(creat); REAL(creat64);
  REAL(close); REAL(write); REAL(pwrite); REAL(pwrite64); REAL(writev); REAL(pwritev);
  REAL(ftruncate); REAL(ftruncate64); REAL(fsync); REAL(fdatasync);
#undef REAL
  const char *d = getenv("POWERLOSS_DIR");
  const char *j = getenv("POWERLOSS_JOURNAL");
  if (!d || !j) return;  // loaded but not asked to record: pass everything through
  char *real = realpath(d, NULL);
  if (!real) die("resolve POWERLOSS_DIR");
  dir_len = strlen(real) + 1;
  dir = malloc(dir_len + 1);
  memcpy(dir, real, dir_len - 1);
  dir[dir_len - 1] = '/';
  dir[dir_len] = 0;
  free(real);
  journal = real_open(j, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (journal < 0) die("open POWERLOSS_JOURNAL");
}

static void ready(void) { pthread_once(&once, init); }

static void put(char kind, const char *path, uint64_t offset, const struct iovec *data, int n) {
  uint32_t len = (uint32_t)strlen(path);
  uint64_t total = 0;
  for (int i = 0; i < n; i++) total += data[i].iov_len;
  char head[1 + 4 + PATH_MAX + 16];
  size_t h = 0;
  head[h++] = kind;
  memcpy(head + h, &len, 4), h += 4;
  memcpy(head + h, path, len), h += len;
  memcpy(head + h, &offset, 8), h += 8;
  memcpy(head + h, &total, 8), h += 8;
  struct iovec all[1 + IOV_MAX];
  if (n > IOV_MAX) die("record more than IOV_MAX buffers");
  all[0].iov_base = head;
  all[0].iov_len = h;
  for (int i = 0; i < n; i++) all[1 + i] = data[i];
  // One O_APPEND writev per record, retried for the rest if the kernel takes only part.
  int cnt = 1 + n, first = 0;
  while (cnt > first) {
    ssize_t w = real_writev(journal, all + first, cnt - first);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write the journal");
    }
    while (first < cnt && (size_t)w >= all[first].iov_len) w -= all[first++].iov_len;
    if (first < cnt) {
      all[first].iov_base = (char *)all[first].iov_base + w;
      all[first].iov_len -= w;
    }
  }
}

// Records `fd` if it is a file under the directory (its path as the kernel has it).
static void track(int fd, int flags) {
  if (fd < 0 || fd >= MAX_FD || !dir) return;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return;
  path[n] = 0;
  if ((size_t)n <= dir_len || strncmp(path, dir, dir_len) != 0) return;
  pthread_mutex_lock(&lock);
  free(paths[fd]);
  paths[fd] = strdup(path);
  if (flags & O_TRUNC) put('T', path, 0, NULL, 0);
  pthread_mutex_unlock(&lock);
}

static const char *tracked(int fd) {
  if (fd < 0 || fd >= MAX_FD || !dir) return NULL;
  return paths[fd];
}

static mode_t mode_arg(int flags, va_list ap) {
  int takes_mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
  return takes_mode ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *p, int flags, ...) {
  ready();
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_open(p, flags, m);
  track(fd, flags);
  return fd;
}

int open64(const char *p, int flags, ...) {
  ready();
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_open64(p, flags, m);
  track(fd, flags);
  return fd;
}

int openat(int d, const char *p, int flags, ...) {
  ready();
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_openat(d, p, flags, m);
  track(fd, flags);
  return fd;
}

int openat64(int d, const char *p, int flags, ...) {
  ready();
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_openat64(d, p, flags, m);
  track(fd, flags);
  return fd;
}

int creat(const char *p, mode_t m) {
  ready();
  int fd = real_creat(p, m);
  track(fd, O_TRUNC);
  return fd;
}

int creat64(const char *p, mode_t m) {
  ready();
  int fd = real_creat64(p, m);
  track(fd, O_TRUNC);
  return fd;
}

int close(int fd) {
  ready();
  if (tracked(fd)) {
    pthread_mutex_lock(&lock);
    free(paths[fd]);
    paths[fd] = NULL;
    int r = real_close(fd);
    pthread_mutex_unlock(&lock);
    return r;
  }
  return real_close(fd);
}

// Where a write without an offset lands: the end for O_APPEND, else the file position.
static off_t position(int fd) {
  if (fcntl(fd, F_GETFL) & O_APPEND) {
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
  }
  return lseek(fd, 0, SEEK_CUR);
}

static ssize_t logged(int fd, const struct iovec *v, int n, off_t at, int positioned) {
  pthread_mutex_lock(&lock);
  const char *path = tracked(fd);  // NULL if another thread closed it meanwhile: then not ours
  off_t offset = positioned ? at : position(fd);
  ssize_t w;
  if (positioned)
    w = n == 1 ? real_pwrite64(fd, v[0].iov_base, v[0].iov_len, at) : real_pwritev(fd, v, n, at);
  else
    w = n == 1 ? real_write(fd, v[0].iov_base, v[0].iov_len) : real_writev(fd, v, n);
  if (w > 0 && path && offset >= 0) {
    // Only the bytes the kernel took.
    struct iovec part[IOV_MAX];
    int k = 0;
    size_t left = (size_t)w;
    for (int i = 0; i < n && left > 0 && k < IOV_MAX; i++) {
      part[k].iov_base = v[i].iov_base;
      part[k].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
      left -= part[k++].iov_len;
    }
    put('W', path, (uint64_t)offset, part, k);
  } else if (w > 0 && path) {
    pthread_mutex_unlock(&lock);
    die("find where a write landed");
  }
  pthread_mutex_unlock(&lock);
  return w;
}

ssize_t write(int fd, const void *b, size_t n) {
  ready();
  if (!tracked(fd)) return real_write(fd, b, n);
  struct iovec v = {(void *)b, n};
  return logged(fd, &v, 1, 0, 0);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t at) {
  ready();
  if (!tracked(fd)) return real_pwrite(fd, b, n, at);
  struct iovec v = {(void *)b, n};
  return logged(fd, &v, 1, at, 1);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t at) {
  ready();
  if (!tracked(fd)) return real_pwrite64(fd, b, n, at);
  struct iovec v = {(void *)b, n};
  return logged(fd, &v, 1, at, 1);
}

ssize_t writev(int fd, const struct iovec *v, int n) {
  ready();
  if (!tracked(fd) || n <= 0 || n > IOV_MAX) return real_writev(fd, v, n);
  return logged(fd, v, n, 0, 0);
}

ssize_t pwritev(int fd, const struct iovec *v, int n, off_t at) {
  ready();
  if (!tracked(fd) || n <= 0 || n > IOV_MAX) return real_pwritev(fd, v, n, at);
  return logged(fd, v, n, at, 1);
}

static int truncated(int (*real)(int, off_t), int fd, off_t size) {
  if (!tracked(fd)) return real(fd, size);
  pthread_mutex_lock(&lock);
  const char *path = tracked(fd);
  int r = real(fd, size);
  if (r == 0 && path) put('T', path, (uint64_t)size, NULL, 0);
  pthread_mutex_unlock(&lock);
  return r;
}

int ftruncate(int fd, off_t size) {
  ready();
  return truncated(real_ftruncate, fd, size);
}

int ftruncate64(int fd, off_t size) {
  ready();
  return truncated(real_ftruncate64, fd, size);
}

static int synced(int (*real)(int), int fd) {
  if (!tracked(fd)) return real(fd);
  pthread_mutex_lock(&lock);
  const char *path = tracked(fd);
  int r = real(fd);
  if (r == 0 && path) put('S', path, 0, NULL, 0);
  pthread_mutex_unlock(&lock);
  return r;
}

int fsync(int fd) {
  ready();
  return synced(real_fsync, fd);
}

int fdatasync(int fd) {
  ready();
  return synced(real_fdatasync, fd);
}

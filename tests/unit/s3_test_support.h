/*
 * tests/unit/s3_test_support.h: a real S3 server for the unit tests.
 *
 * Starts moto's standalone server (moto[server], pinned in
 * scripts/versions.env and installed into build/engines/venv by
 * scripts/engines.sh) on a free 127.0.0.1 port, and optionally the
 * fault-injecting proxy tests/support/s3_fault_proxy.py in front of it.
 * FLOE_ENGINES_VENV overrides the virtualenv. A server that cannot start
 * fails the test; nothing is skipped.
 */
#ifndef FLOE_S3_TEST_SUPPORT_H
#define FLOE_S3_TEST_SUPPORT_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FLOE_SOURCE_DIR
#define FLOE_SOURCE_DIR "."
#endif

typedef struct s3_server {
  pid_t pid;
  int port;
  char endpoint[64];
} s3_server;

static inline const char *s3_test_venv(void) {
  const char *v = getenv("FLOE_ENGINES_VENV");
  return v != NULL && v[0] ? v : FLOE_SOURCE_DIR "/build/engines/venv";
}

static inline int s3_test_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

static inline int s3_test_port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

/* Spawns argv (NULL-terminated) with output to build/tmp/<log>, then waits
 * up to 30 s for `port` to accept connections. */
static inline int s3_test_spawn(s3_server *s, char *const argv[], int port,
                                const char *log) {
  s->pid = -1;
  s->port = port;
  snprintf(s->endpoint, sizeof s->endpoint, "http://127.0.0.1:%d", port);
  if (access(argv[0], X_OK) != 0) {
    fprintf(stdout, "  s3 test server: %s not found (run scripts/engines.sh)\n",
            argv[0]);
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    setpgid(0, 0);
    if (system("mkdir -p tmp") != 0) _exit(127);
    FILE *f = freopen(log, "w", stdout);
    if (f == NULL || dup2(fileno(stdout), 2) < 0) _exit(127);
    execv(argv[0], argv);
    _exit(127);
  }
  s->pid = pid;
  for (int i = 0; i < 300; i++) {
    if (s3_test_port_open(port)) return 0;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      s->pid = -1;
      fprintf(stdout, "  s3 test server %s exited (see build/%s)\n", argv[0],
              log);
      return -1;
    }
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return -1;
}

static inline void s3_test_stop(s3_server *s) {
  if (s->pid > 0) {
    kill(-s->pid, SIGTERM);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
  }
  s->pid = -1;
}

/* moto's server on a free port. */
static inline int s3_test_start_moto(s3_server *s) {
  char bin[4096], port_text[16];
  snprintf(bin, sizeof bin, "%s/bin/moto_server", s3_test_venv());
  int port = s3_test_free_port();
  snprintf(port_text, sizeof port_text, "%d", port);
  char *argv[] = {bin, "-H", "127.0.0.1", "-p", port_text, NULL};
  /* Small parts, so multipart uploads can be tested with little data. */
  setenv("S3_UPLOAD_PART_MIN_SIZE", "1024", 1);
  return s3_test_spawn(s, argv, port, "tmp/moto_server.log");
}

/* The fault proxy in front of `upstream`. */
static inline int s3_test_start_proxy(s3_server *s, const s3_server *upstream) {
  char py[4096], port_text[16];
  snprintf(py, sizeof py, "%s/bin/python3", s3_test_venv());
  int port = s3_test_free_port();
  snprintf(port_text, sizeof port_text, "%d", port);
  char *argv[] = {py, FLOE_SOURCE_DIR "/tests/support/s3_fault_proxy.py",
                  "--port", port_text, "--upstream",
                  (char *)upstream->endpoint,
                  "--secret", "testing-key=testing-secret",
                  "--secret", "AKIACONFIG=config-secret",
                  "--secret", "AKIAPROFILE=p", NULL};
  return s3_test_spawn(s, argv, port, "tmp/s3_fault_proxy.log");
}

/* Runs a shell command with curl against the server (moto needs no
 * signature for bucket set-up); returns its exit status. */
static inline int s3_test_sh(const char *fmt, const char *a, const char *b) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  return system(cmd);
}

/* Creates bucket `name` on the server. */
static inline int s3_test_make_bucket(const s3_server *s, const char *name) {
  return s3_test_sh("curl -sf -X PUT '%s/%s' -o /dev/null", s->endpoint, name);
}

/* Credentials for the tests' requests; instance metadata off so that no
 * request leaves 127.0.0.1. */
static inline void s3_test_env(void) {
  setenv("AWS_ACCESS_KEY_ID", "testing-key", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "testing-secret", 1);
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_PROFILE");
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  setenv("AWS_REGION", "us-east-1", 1);
}

#endif

/*
 * A tiny HTTP/1.1 function for ImageFunctionTest, built with gcc -static into a test OCI image:
 * it serves the unix socket $FN_LISTENER (the contract every Skiff function follows), one child
 * per connection with keep-alive, and answers each request with what it sees from inside the
 * sandbox: its argv[1], the image's marker file, whether the host's python3 is visible, its
 * uid/gid, two environment variables and the request body.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int read_file(const char *path, char *out, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) return snprintf(out, cap, "none");
    int n = (int)fread(out, 1, cap - 1, f);
    fclose(f);
    while (n > 0 && (out[n - 1] == '\n')) n--;
    out[n] = 0;
    return n;
}

static void serve(int c, const char *greeting) {
    static char buf[65536];
    for (;;) {
        int len = 0;
        char *end = NULL;
        while (!(end = strstr(buf, "\r\n\r\n"))) {
            int r = read(c, buf + len, sizeof buf - 1 - len);
            if (r <= 0) return;
            len += r;
            buf[len] = 0;
        }
        long body_len = 0;
        for (char *h = strchr(buf, '\n'); h && h < end; h = strchr(h + 1, '\n')) {
            if (strncasecmp(h + 1, "content-length:", 15) == 0) body_len = atol(h + 16);
        }
        int head = (int)(end + 4 - buf);
        while (len - head < body_len && len < (int)sizeof buf - 1) {
            int r = read(c, buf + len, sizeof buf - 1 - len);
            if (r <= 0) return;
            len += r;
        }
        char marker[256], out[4096];
        read_file("/etc/skiff-marker", marker, sizeof marker);
        const char *who = getenv("WHO"), *greet_env = getenv("GREETING");
        int n = snprintf(out, sizeof out, "%s|marker=%s|host-python=%s|uid=%d|gid=%d|GREETING=%s|WHO=%s|body=%.*s",
                greeting, marker, access("/usr/bin/python3", F_OK) == 0 ? "yes" : "no", (int)getuid(), (int)getgid(),
                greet_env ? greet_env : "", who ? who : "", (int)body_len, buf + head);
        char hdr[256];
        int h = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
        if (write(c, hdr, h) != h || write(c, out, n) != n) return;
        int rest = len - head - (int)body_len;
        memmove(buf, buf + head + body_len, rest > 0 ? rest : 0);
        buf[rest > 0 ? rest : 0] = 0;
        len = rest > 0 ? rest : 0;
    }
}

int main(int argc, char **argv) {
    const char *path = getenv("FN_LISTENER");
    if (!path) { fprintf(stderr, "FN_LISTENER is not set\n"); return 2; }
    signal(SIGCHLD, SIG_IGN);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    unlink(path);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 64)) { perror("listen"); return 1; }
    printf("responder listening on %s\n", path);
    fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        if (fork() == 0) { close(s); serve(c, argc > 1 ? argv[1] : "no greeting"); _exit(0); }
        close(c);
    }
}

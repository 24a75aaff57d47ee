// SPDX-License-Identifier: MIT
/*
 * client.c - `capsa exec PATH [OPTIONS] -- COMMAND [ARG...]`: run one more
 * command in the sandbox of a running `capsa --control PATH`.
 *
 * A client of the protocol in wire.h, and nothing more: it needs no
 * /dev/kvm and opens no VM. What the user sees is what `capsa -- COMMAND`
 * shows: stdout and stderr apart and exact, stdin up to its EOF, a pty when
 * stdin and stdout are terminals (raw mode here, restored on every way
 * out), the window size, signals passed on, and the command's status (or
 * 124 on --timeout, 125 when capsa fails, with one line saying why).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "exec_client.h"
#include "../guest/exec_wire.h"
#include "term.h"
#include "util.h"

#define HELLO_WAIT_MS 30000	/* the sandbox may still be booting */

struct client {
	const struct capsa_config *cfg;
	const char *path;
	int sock, sfd;
	bool tty;
	bool stdin_open;
	bool out_gone[3];		/* our stdout/stderr reader went away */
	uint32_t in_flight;		/* STDIN bytes not ACKed yet */
	unsigned interrupts;
	int kill_sig;			/* the signal --kill-after runs since, or 0 */
	double kill_at;			/* when --kill-after ends the exec */
	int status;			/* from EXIT or ERROR; -1 before */
	struct wire_rx rx;
};

/* Signals the client handles; the first four go on to the command. */
static const int client_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH };

/* One line on stderr, the terminal restored first; the status for it. */
static int __attribute__((format(printf, 1, 2)))
failed(const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	int n;

	term_restore();
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	n = n < 0 ? 0 : MIN(n, (int)sizeof(buf) - 2);
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, "capsa: ", 7);
	(void)!write(STDERR_FILENO, buf, (size_t)n);
	return EXIT_CAPSA;
}

/* Connect to PATH, telling each way it can fail apart. */
static int
connect_control(struct client *c)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(c->path) >= sizeof(a.sun_path))
		return failed("%s: path too long for a unix socket", c->path);
	if (stat(c->path, &st) < 0 && errno == ENOENT)
		return failed("%s: no such control socket (is `capsa --control %s` running?)",
			      c->path, c->path);
	if (stat(c->path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return failed("%s: not a capsa control socket (not a socket at all)", c->path);
	strcpy(a.sun_path, c->path);
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0)
		return failed("socket: %s", strerror(errno));
	if (connect(c->sock, (struct sockaddr *)&a, sizeof(a)) == 0)
		return 0;
	if (errno == ECONNREFUSED)
		return failed("%s: no sandbox listens there any more (its capsa has ended)", c->path);
	return failed("%s: %s", c->path, strerror(errno));
}

/* "CAPSA-EXEC 1\n", answered by "OK 1\n" from a capsa sandbox. */
static int
handshake(struct client *c)
{
	char line[32];
	size_t n = 0;
	struct pollfd p = { .fd = c->sock, .events = POLLIN };
	double deadline = now_ms() + HELLO_WAIT_MS;

	if (write_all(c->sock, WIRE_HELLO, strlen(WIRE_HELLO)) < 0)
		return failed("%s: the connection closed at once (not a capsa control socket?)",
			      c->path);
	while (n < sizeof(line) - 1 && (n == 0 || line[n - 1] != '\n')) {
		int left = (int)(deadline - now_ms());
		ssize_t r;

		if (left <= 0 || poll(&p, 1, left) == 0)
			return failed("%s: no answer within %d s (not a capsa control socket?)",
				      c->path, HELLO_WAIT_MS / 1000);
		r = read(c->sock, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return failed("%s: closed without answering: its sandbox is ending, or it is "
				      "not a capsa control socket", c->path);
		n++;
	}
	line[n] = 0;
	if (strcmp(line, WIRE_OK))
		return failed("%s: not a capsa control socket (it answered '%.*s')", c->path,
			      (int)strcspn(line, "\r\n"), line);
	return 0;
}

static int
send_frame(struct client *c, uint8_t type, const void *data, uint32_t len)
{
	uint8_t hdr[WIRE_HDR];
	struct iovec iov[2] = { { hdr, WIRE_HDR }, { (void *)data, len } };
	size_t left = WIRE_HDR + (size_t)len;

	wire_header(hdr, type, len);
	while (left) {
		ssize_t n = writev(c->sock, iov, 2);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;	/* the server is gone: reading says how */
		left -= (size_t)n;
		for (int i = 0; i < 2; i++) {
			size_t take = MIN((size_t)n, iov[i].iov_len);

			iov[i].iov_base = (uint8_t *)iov[i].iov_base + take;
			iov[i].iov_len -= take;
			n -= (ssize_t)take;
		}
	}
	return 0;
}

static void
send_u32(struct client *c, uint8_t type, uint32_t v)
{
	uint8_t b[4];

	wire_put_u32(b, v);
	(void)send_frame(c, type, b, 4);
}

/* The START records: environment (TERM first on a pty), argv, the rest. */
static int
send_start(struct client *c, unsigned rows, unsigned cols)
{
	const struct capsa_config *cfg = c->cfg;
	struct wire_buf b = { 0 };
	char buf[64];
	int e;

	if (c->tty) {
		term_env(buf, sizeof(buf));
		wire_record(&b, WR_ENV, buf);
		snprintf(buf, sizeof(buf), "%ux%u", rows, cols);
		wire_record(&b, WR_TTY, buf);
	}
	for (unsigned i = 0; i < cfg->env.n; i++)
		wire_record(&b, WR_ENV, cfg->env.v[i]);
	for (int i = 0; i < cfg->argc; i++)
		wire_record(&b, WR_ARG, cfg->argv[i]);
	if (cfg->workdir)
		wire_record(&b, WR_CWD, cfg->workdir);
	if (cfg->timeout_s) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cfg->timeout_s);
		wire_record(&b, WR_TIMEOUT, buf);
	}
	e = b.err ? b.err : b.len > WIRE_START_MAX ? -E2BIG : send_frame(c, W_START, b.buf, (uint32_t)b.len);
	free(b.buf);
	return e;
}

/* Command output to our fd 1 or 2; a reader that went away is told to the guest. */
static void
write_out(struct client *c, int fd, const uint8_t *data, uint32_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	while (len && !c->out_gone[fd]) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EAGAIN) {
			poll(&p, 1, -1);	/* a non-blocking fd we share */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			uint8_t which = (uint8_t)fd;

			c->out_gone[fd] = true;
			(void)send_frame(c, W_CLOSE, &which, 1);
			return;
		}
		data += n;
		len -= (uint32_t)n;
	}
}

static void
on_frame(struct client *c, const struct wire_frame *f)
{
	uint32_t v = f->len == 4 ? wire_u32(f->data) : 0;

	if (f->type == W_STDOUT || f->type == W_STDERR) {
		write_out(c, f->type == W_STDOUT ? STDOUT_FILENO : STDERR_FILENO, f->data, f->len);
	} else if (f->type == W_ACK) {
		c->in_flight -= MIN(v, c->in_flight);
	} else if (f->type == W_EXIT) {
		c->status = v <= 255 ? (int)v : failed("%s: a bad exit status %u", c->path, v);
	} else if (f->type == W_ERROR) {
		c->status = failed("%.*s", (int)strnlen((const char *)f->data, f->len), f->data);
	}
}

/* Bytes from the sandbox; false once the connection is over. */
static bool
on_socket(struct client *c)
{
	struct wire_frame f;
	const char *why;
	uint8_t *at;
	size_t room = wire_rx_space(&c->rx, &at);
	ssize_t n = room ? read(c->sock, at, room) : -1;
	int r;

	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0) {
		if (c->status < 0)
			c->status = failed("%s: the sandbox ended before the command did", c->path);
		return false;
	}
	c->rx.len += (size_t)n;
	while (c->status < 0 && (r = wire_rx_next(&c->rx, &f, &why)) != 0) {
		if (r < 0) {
			c->status = failed("%s: the sandbox broke the protocol: %s", c->path, why);
			return false;
		}
		on_frame(c, &f);
	}
	return c->status < 0;
}

static void
on_stdin(struct client *c)
{
	static uint8_t buf[WIRE_DATA_MAX];
	ssize_t n = read(STDIN_FILENO, buf, MIN(sizeof(buf), WIRE_WINDOW - c->in_flight));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		c->stdin_open = false;		/* EOF, or an error: the end either way */
		(void)send_frame(c, W_EOF, NULL, 0);
		return;
	}
	c->in_flight += (uint32_t)n;
	(void)send_frame(c, W_STDIN, buf, (uint32_t)n);
}

/*
 * As `capsa` does: SIGINT, SIGTERM, SIGHUP and SIGQUIT go to the command; a
 * second SIGINT or SIGTERM ends the client, which kills the command, and
 * so does --kill-after (10 s by default) once the command ignored one.
 * Return: false when the client should end now.
 */
static bool
on_signal(struct client *c)
{
	struct signalfd_siginfo si;
	unsigned rows, cols;

	while (read(c->sfd, &si, sizeof(si)) == sizeof(si)) {
		int sig = (int)si.ssi_signo;

		if (sig == SIGWINCH) {
			if (c->tty && term_size(&rows, &cols))
				send_u32(c, W_RESIZE, (uint32_t)(rows | cols << 16));
			continue;
		}
		if ((sig == SIGINT || sig == SIGTERM) && ++c->interrupts > 1) {
			c->status = 128 + sig;
			return false;
		}
		send_u32(c, W_SIGNAL, (uint32_t)sig);
		if (c->cfg->kill_after_s && !c->kill_sig) {
			c->kill_sig = sig;
			c->kill_at = now_ms() + 1000.0 * (double)c->cfg->kill_after_s;
		}
	}
	return true;
}

/* --kill-after ran out: end the exec, which kills the command, as capsa stops its VM. */
static void
kill_after(struct client *c)
{
	int sig = c->kill_sig;

	failed("the command did not end %llu s after %s (--kill-after); killing it",
	       (unsigned long long)c->cfg->kill_after_s, sig == SIGTERM ? "SIGTERM" :
	       sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGQUIT");
	c->status = 128 + SIGKILL;
}

static int
run_loop(struct client *c)
{
	while (c->status < 0) {
		bool want_in = c->stdin_open && c->in_flight < WIRE_WINDOW;
		struct pollfd p[3] = {
			{ .fd = c->sock, .events = POLLIN },
			{ .fd = c->sfd, .events = POLLIN },
			{ .fd = want_in ? STDIN_FILENO : -1, .events = POLLIN },
		};

		int wait = c->kill_sig ? (int)MAX(c->kill_at - now_ms(), 0) : -1;
		int n = poll(p, 3, wait);

		if (n == 0 && c->kill_sig) {
			kill_after(c);
			break;
		}
		if (n < 0)
			continue;
		if (p[1].revents && !on_signal(c))
			break;
		if (p[0].revents && !on_socket(c))
			break;
		if (p[2].revents)
			on_stdin(c);
	}
	return c->status;
}

/* A pty when stdin and stdout are terminals (or -t): ours goes raw. */
static int
setup_tty(struct client *c, unsigned *rows, unsigned *cols)
{
	bool have = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

	c->tty = c->cfg->tty == TTY_FORCE || (c->cfg->tty == TTY_AUTO && have);
	if (!c->tty)
		return 0;
	if (!term_size(rows, cols)) {
		*rows = 24;
		*cols = 80;
	}
	if (isatty(STDIN_FILENO) && term_raw(STDIN_FILENO) < 0)
		return failed("cannot put the terminal in raw mode: %s", strerror(errno));
	return 0;
}

/**
 * exec_main() - `capsa exec`: run @cfg's command in the sandbox at
 * @cfg->control_path.
 *
 * Return: the exit status for capsa.
 */
int
exec_main(const struct capsa_config *cfg)
{
	static struct client c;
	unsigned rows = 0, cols = 0;
	sigset_t set;
	int e;

	c = (struct client){ .cfg = cfg, .path = cfg->control_path, .sock = -1,
			     .stdin_open = true, .status = -1 };
	sigemptyset(&set);
	for (unsigned i = 0; i < ARRAY_SIZE(client_signals); i++)
		sigaddset(&set, client_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c.sfd < 0)
		return failed("signalfd: %s", strerror(errno));
	if ((e = connect_control(&c)) || (e = handshake(&c)))
		return e;
	log_info("exec: %s answered", c.path);
	if ((e = setup_tty(&c, &rows, &cols)))
		return e;
	e = send_start(&c, rows, cols);
	if (e == -E2BIG || e == -ENOMEM)
		return failed("the command and its environment are too long");
	e = run_loop(&c);
	term_restore();
	log_info("exec: status %d", e);
	return e;
}

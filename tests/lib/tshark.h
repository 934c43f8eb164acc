/* tshark.h — Wireshark's dissectors as an independent checker of what goes over the wire
 * in integration tests: capture loopback traffic with dumpcap while a test runs, then
 * count the frames tshark 4.0 decodes as SIP, SDP, MSRP, ... and the malformed ones.
 *
 * Capturing needs the right to (root, or a dumpcap with CAP_NET_RAW); tests skip visibly
 * when tshark_start() says -EPERM. Return convention: 0 or a count, -errno on failure. */
#ifndef TESTS_TSHARK_H
#define TESTS_TSHARK_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define TSHARK_BIN  "/usr/bin/tshark"
#define DUMPCAP_BIN "/usr/bin/dumpcap"

/* Frames that a dissector could not make sense of, or flagged as an error. */
#define TSHARK_BAD "_ws.malformed || _ws.expert.severity == error"

struct tshark_cap {
	pid_t pid;                   /* dumpcap while it captures, else -1 */
	int err_fd;                  /* its stderr, -1 when closed */
	int mark_fd;                 /* UDP socket the stop marker goes to and from, or -1 */
	int mark_port;               /* its port on 127.0.0.1 */
	char dir[PATH_MAX];          /* where the files go (the caller's) */
	char file[PATH_MAX + 32];    /* <dir>/capture.pcapng */
};

/* A capture not started yet: tshark_stop() on it does nothing. */
#define TSHARK_CAP_INIT { .pid = -1, .err_fd = -1, .mark_fd = -1 }

/* 1 when tshark and dumpcap are installed. */
int tshark_available(void);

/* Starts capturing on lo, only what capture filter <filter> (pcap syntax, e.g. "port 5060
 * or port 2855"; NULL: everything) lets through, into <dir>/capture.pcapng (<dir> must
 * exist). Returns once a marker datagram sent after dumpcap said "Capturing on" is in the
 * file (within 5 s each): what is sent after that is captured. 0, or -EPERM (no right to capture), -ECHILD (dumpcap exited: its words
 * went to stderr), -ETIMEDOUT. On failure nothing is left running.
 * dumpcap reports its packet count on a pipe that tshark_stop() reads: keep a capture
 * shorter than a few minutes of steady traffic or the pipe fills and dumpcap stalls. */
int tshark_start(struct tshark_cap *c, const char *filter, const char *dir);

/* Stops the capture once everything sent before the call is in the file: a marker
 * datagram (to 127.0.0.1:<mark_port>, let through by the capture filter, left out of every
 * count) goes last and dumpcap gets SIGINT when it has written it, within 5 s. The kernel
 * hands captured packets to dumpcap in blocks, late: a plain SIGINT loses the last few
 * hundred milliseconds. 0, or -ETIMEDOUT (the marker never showed, or dumpcap needed a
 * SIGKILL: the file may miss the end), -EIO (no file). Harmless when not capturing
 * (returns 0). */
int tshark_stop(struct tshark_cap *c);

/* Decodes the capture with tshark and counts the frames that match display filter
 * <display_filter> (NULL: all frames), e.g. "sip.Method == \"INVITE\"", "sdp", "msrp",
 * TSHARK_BAD. <extra_decode_as> is NULL or a space-separated list of tshark -d rules
 * ("tcp.port==2855,msrp udp.port==5060,sip") for ports the dissectors would not guess.
 * Returns the count, or -EINVAL (tshark refused the filter or a rule: its words went to
 * stderr), -ETIMEDOUT, -errno. */
int tshark_count(struct tshark_cap *c, const char *extra_decode_as, const char *display_filter);

/* The same decoding, with tshark's one-line summary of each matching frame into <buf>
 * (NUL-terminated, cut at <len>-1 bytes): for the message of a failing assertion. Returns
 * the number of frames, or -errno as tshark_count(). */
int tshark_summary(struct tshark_cap *c, const char *extra_decode_as,
		   const char *display_filter, char *buf, size_t len);

#endif

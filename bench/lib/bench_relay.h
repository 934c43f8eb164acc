/* bench_relay.h — `rcsbench msrp-relay` and `rcsbench msrp-idle`: MSRP load through a
 * relay (RFC 4976) on the engine, and idle authenticated sessions for the memory figure.
 * See bench/README.md for the options and what each reported number means. */
#ifndef BENCH_RELAY_H
#define BENCH_RELAY_H

/* argv[0] is the mode name: "msrp-relay" or "msrp-idle". Exit status: 0; 3 when messages
 * were lost or came wrong or connections were lost; 4 when the relay refused AUTH; 1 on
 * failure; 2 on bad arguments. */
int bench_relay_main(int argc, char **argv);

#endif

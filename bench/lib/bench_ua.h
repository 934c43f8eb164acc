/* bench_ua.h — `rcsbench ua-setup` and `rcsbench ua-send`: load on rcsgw's MSRP user agent
 * through its REST API (POST /v1/sessions, POST /v1/sessions/{id}/messages, DELETE), with
 * the generator as the far end: a SIP UAS on UDP and an MSRP listener of its own.
 * `rcsbench ua-sink`: that far end alone, for the sessions of rcsgw's SIP MESSAGE gateway.
 * See bench/README.md for the options and what each reported number means. */
#ifndef BENCH_UA_H
#define BENCH_UA_H

/* argv[0] is the mode name: "ua-setup", "ua-send" or "ua-sink". Exit status: 0; 3 when
 * sessions or messages failed (non-2xx answers, time-outs, wrong or lost bodies, BYEs
 * missing; ua-sink: messages missing against --count, stray SIP, unknown sessions); 1 on
 * failure to run (ua-sink: nothing came); 2 on bad arguments. */
int bench_ua_main(int argc, char **argv);

#endif

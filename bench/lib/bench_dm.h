/* bench_dm.h — `rcsbench dm-request`: Diameter requests through rcsgw's REST API
 * (POST /v1/diameter/requests), closed loop, each answered by rcsgw's Diameter peer
 * (freeDiameterd in bench/diameter.sh). See bench/README.md for the options and what each
 * reported number means. */
#ifndef BENCH_DM_H
#define BENCH_DM_H

/* argv[0] is the mode name ("dm-request"). Exit status: 0; 3 when a request failed (not
 * 200, not the expected Result-Code, unanswered, its connection lost); 1 on failure to run
 * or when nothing was answered inside the window; 2 on bad arguments. */
int bench_dm_main(int argc, char **argv);

#endif

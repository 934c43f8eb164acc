/* wait.h — bounded waits for tests: a test never hangs on a thread that does not answer. */
#ifndef TESTS_WAIT_H
#define TESTS_WAIT_H

#include <semaphore.h>

/* sem_wait on <s> for at most <ms> milliseconds (EINTR retried). 0, or -1 on time-out. */
int sem_wait_ms(sem_t *s, int ms);

#endif

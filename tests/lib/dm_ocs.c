/* dm_ocs.c — a Diameter server for the hooks' integration tests (dm_ocs.h). */
#include "tests/lib/dm_ocs.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/rcsgw_proc.h"

static void *answer(void *arg)
{
	struct dm_ocs *o = arg;
	char data[8192], path[96], body[64];
	while (!o->stop) {
		if (sse_next_event(&o->sse, "diameter.request", NULL, data, sizeof(data), 200) < 0)
			continue;
		json_t *j = json_loads(data, 0, NULL);
		const char *cmd = json_string_value(json_object_get(j, "command"));
		int udr = cmd && !strcmp(cmd, "UDR");
		if (!(udr ? o->sh_rc : o->ro_rc)) { /* 0: left unanswered */
			if (udr)
				o->udrs++;
			else
				o->ccrs++;
			json_decref(j);
			continue;
		}
		snprintf(path, sizeof(path), "/v1/diameter/requests/%s/answer",
			 json_string_value(json_object_get(j, "request")));
		snprintf(body, sizeof(body), "{\"result_code\":%d}", udr ? o->sh_rc : o->ro_rc);
		if (udr)
			o->udrs++;
		else
			o->ccrs++;
		int st = 0;
		http_request("127.0.0.1", o->api, "POST", path, NULL, body, &st, NULL, NULL, 3000);
		json_decref(j);
	}
	return NULL;
}

int dm_ocs_start(struct dm_ocs *o)
{
	return dm_ocs_start_at(o, 0, 0);
}

int dm_ocs_start_at(struct dm_ocs *o, int api, int dport)
{
	char a[64], d[64];
	o->api = api ? api : free_tcp_port();
	o->dport = dport ? dport : free_tcp_port();
	snprintf(a, sizeof(a), "RCSGW_API_LISTEN=127.0.0.1:%d", o->api);
	snprintf(d, sizeof(d), "RCSGW_DIAMETER_LISTEN=127.0.0.1:%d", o->dport);
	const char *env[] = { a, d, "RCSGW_DIAMETER_ORIGIN_HOST=ocs.test.local",
			      "RCSGW_DIAMETER_ACCEPT=*.test.local", "RCSGW_MSRP_LISTEN=",
			      "RCSGW_SIP_LISTEN=", "RCSGW_ENGINE_WORKERS=1", "RCSGW_LOG_LEVEL=error",
			      NULL };
	o->pid = rcsgw_spawn(env, NULL, NULL);
	if (o->pid < 0)
		return (int)o->pid;
	if (wait_port("127.0.0.1", o->api, 5000) < 0 || wait_port("127.0.0.1", o->dport, 5000) < 0 ||
	    sse_open(&o->sse, "127.0.0.1", o->api, NULL) < 0 ||
	    !sse_read_until(&o->sse, "retry:", 3000)) {
		rcsgw_stop(o->pid, SIGKILL, 2000);
		o->pid = -1;
		return -ETIMEDOUT;
	}
	o->stop = 0;
	o->sh_rc = o->ro_rc = 2001;
	o->udrs = o->ccrs = 0;
	if (pthread_create(&o->t, NULL, answer, o) != 0) {
		sse_close(&o->sse);
		rcsgw_stop(o->pid, SIGKILL, 2000);
		o->pid = -1;
		return -EAGAIN;
	}
	return 0;
}

void dm_ocs_stop(struct dm_ocs *o)
{
	if (o->pid <= 0)
		return;
	o->stop = 1;
	pthread_join(o->t, NULL);
	sse_close(&o->sse);
	rcsgw_stop(o->pid, SIGKILL, 2000);
	o->pid = -1;
}

const char *dm_ocs_peer_env(const struct dm_ocs *o, char *buf, size_t len)
{
	snprintf(buf, len, "RCSGW_DIAMETER_PEERS=aaa://127.0.0.1:%d;realm=test.local", o->dport);
	return buf;
}

int dm_ocs_wait_open(int api, int ms)
{
	for (int t = 0; t < ms; t += 100) {
		char *resp = NULL;
		int st = 0;
		http_request("127.0.0.1", api, "GET", "/v1/diameter/peers", NULL, NULL, &st, NULL,
			     &resp, 2000);
		int open = resp && strstr(resp, "\"open\"");
		free(resp);
		if (open)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

/* dm_samples.h — Diameter AVP lists in the JSON of diameter/dm_json.h that several tests
 * send: an Sh User-Data-Request's (the 3GPP vendor's AVPs, a Grouped one of them), a
 * Credit-Control-Request as the API takes it. */
#ifndef TESTS_DM_SAMPLES_H
#define TESTS_DM_SAMPLES_H

#define DM_SAMPLE_UDR_JSON                                                                  \
	"[{\"Session-Id\": \"rcsgw.test;1;43\"},"                                           \
	" {\"Vendor-Specific-Application-Id\": [{\"Vendor-Id\": 10415},"                    \
	"                                      {\"Auth-Application-Id\": 16777217}]},"       \
	" {\"Auth-Session-State\": \"NO_STATE_MAINTAINED\"},"                               \
	" {\"Origin-Host\": \"rcsgw.test\"}, {\"Origin-Realm\": \"test\"},"                 \
	" {\"Destination-Realm\": \"hss.test\"},"                                           \
	" {\"User-Identity\": [{\"Public-Identity\": \"sip:alice@ims.test\"}]},"           \
	" {\"Data-Reference\": \"RepositoryData\"},"                                       \
	" {\"Service-Indication\": \"rcs-settings\"}]"

/* A Credit-Control-Request (Ro, an event: direct debiting) as POST /v1/diameter/requests
 * takes it. */
#define DM_SAMPLE_CCR_API_JSON                                                              \
	"{\"application\":\"Credit-Control\",\"command\":\"CCR\",\"avps\":["                \
	"{\"Auth-Application-Id\":4},{\"Service-Context-Id\":\"32274@3gpp.org\"},"          \
	"{\"CC-Request-Type\":\"EVENT_REQUEST\"},{\"CC-Request-Number\":0},"                \
	"{\"Requested-Action\":\"DIRECT_DEBITING\"},"                                       \
	"{\"Subscription-Id\":[{\"Subscription-Id-Type\":\"END_USER_SIP_URI\"},"           \
	"{\"Subscription-Id-Data\":\"sip:alice@test.local\"}]}]}"

#endif

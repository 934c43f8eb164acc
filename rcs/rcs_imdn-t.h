/* rcs_imdn-t.h — types of IMDN (RFC 5438): the notification kinds and statuses, one
 * notification, the Disposition-Notification flags. No prototypes here (rcs_imdn.h). */
#ifndef RCS_IMDN_T_H
#define RCS_IMDN_T_H

#define RCS_IMDN_ID_MAX  128  /* bytes of a Message-ID */
#define RCS_IMDN_URI_MAX 512  /* bytes of a recipient URI */
#define RCS_IMDN_DT_MAX  64   /* bytes of a DateTime */

/* Which notification (RFC 5438 §7.1: the element under <imdn>). */
enum rcs_imdn_kind { RCS_IMDN_DELIVERY = 1, RCS_IMDN_DISPLAY, RCS_IMDN_PROCESSING };

/* The element inside <status>. Each kind takes some only (RFC 5438 §7.2.1):
 * delivery: delivered, failed, forbidden, error; display: displayed, forbidden, error;
 * processing: processed, stored, forbidden, error. */
enum rcs_imdn_status { RCS_IMDN_DELIVERED = 1, RCS_IMDN_FAILED, RCS_IMDN_FORBIDDEN, RCS_IMDN_ERROR,
		       RCS_IMDN_DISPLAYED, RCS_IMDN_PROCESSED, RCS_IMDN_STORED };

/* One message/imdn+xml document. The strings are NUL-terminated copies. */
struct rcs_imdn {
	char message_id[RCS_IMDN_ID_MAX + 1];               /* of the original message */
	char datetime[RCS_IMDN_DT_MAX + 1];                 /* of the original message */
	char recipient_uri[RCS_IMDN_URI_MAX + 1];           /* may be empty */
	char original_recipient_uri[RCS_IMDN_URI_MAX + 1];  /* may be empty */
	enum rcs_imdn_kind kind;
	enum rcs_imdn_status status;
};

/* The notifications a sender asks for (imdn.Disposition-Notification, RFC 5438 §6.2). */
#define RCS_DN_POSITIVE_DELIVERY 0x1u  /* "positive-delivery" */
#define RCS_DN_NEGATIVE_DELIVERY 0x2u  /* "negative-delivery" */
#define RCS_DN_DISPLAY           0x4u  /* "display" */
#define RCS_DN_PROCESSING        0x8u  /* "processing" */

#endif

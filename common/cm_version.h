/* cm_version.h — the one place the version is written. */
#ifndef CM_VERSION_H
#define CM_VERSION_H

#ifndef RCSGW_VERSION
#define RCSGW_VERSION "0.1.0"
#endif

#endif

/* tls_version.h -- the module's version, also in debian/changelog once packaged. */
#ifndef TLS_VERSION_H
#define TLS_VERSION_H

#define TLS_MODULE_VERSION "0.1.0"

#endif /* TLS_VERSION_H */

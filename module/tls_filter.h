/* tls_filter.h -- the connection filters: brigades <-> the crate's byte buffers.
 *
 * Input: TLS bytes from the filter below (core/reqtimeout) are fed to the engine, decrypted
 * plaintext is kept in tc->plain_in and handed up in the mode asked (READBYTES, GETLINE,
 * SPECULATIVE, EXHAUSTIVE, INIT). Output: plaintext buckets are encrypted in chunks; TLS bytes
 * are passed down at the end of every call, before every metadata bucket, and with FLUSH/EOC.
 * Neither filter keeps TLS bytes between calls: what the engine produced is passed down at
 * once, so the core output filter (and the event MPM's write completion) sees all of it. */
#ifndef TLS_FILTER_H
#define TLS_FILTER_H

#include "tls_conn.h"

void tls_filter_register(apr_pool_t *p);

/* Adds both filters to tc->c, remembering them in tc. */
void tls_filter_add(tls_conn *tc);

/* Reads TLS bytes from the network (if none are waiting in tc->net_in) and feeds them to the
 * acceptor or connection. *fed is how many were taken. Returns APR_SUCCESS, APR_EAGAIN
 * (non-blocking, nothing to read), APR_EOF (the peer closed TCP), a network error, or the
 * engine's TLS error. */
apr_status_t tls_filter_net_read(tls_conn *tc, apr_read_type_e block, apr_size_t *fed);

/* Passes the TLS bytes the engine has ready to the network, followed by a FLUSH. */
apr_status_t tls_filter_net_flush(tls_conn *tc);

/* Takes the TLS bytes the engine has ready into the connection's outgoing brigade, where they
 * wait for the next output (every output filter call passes them down). */
apr_status_t tls_filter_net_collect(tls_conn *tc);

/* Has the peer sent more than the engine has taken: TLS bytes in our brigade, in the core
 * input filter's buffer, or in the socket (a non-blocking peek)? */
int tls_filter_net_input_waiting(tls_conn *tc);

/* Acknowledges what the peer sent now rather than after the kernel's delayed-ACK timeout
 * (TCP_QUICKACK where the system has it; nothing elsewhere). */
void tls_filter_net_ack_now(tls_conn *tc);

#endif /* TLS_FILTER_H */

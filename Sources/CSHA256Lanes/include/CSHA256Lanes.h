#ifndef CSHA256LANES_H
#define CSHA256LANES_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this processor and operating system run the AVX2 code of `csha256_lanes_hash` (x86-64 with AVX2 and the
/// YMM state enabled), else 0: the caller hashes the messages one at a time instead.
int csha256_lanes_available(void);

/// SHA-256 (FIPS 180-4) of `count` independent messages, eight at a time in the lanes of AVX2 registers.
/// Message i is the bytes `base[starts[i]] ..< base[ends[i]]`; its digest (32 bytes, the usual byte order) goes to
/// `digests + 32 * i`. Only call it when `csha256_lanes_available()` returned 1.
void csha256_lanes_hash(const uint8_t *base, const ptrdiff_t *starts, const ptrdiff_t *ends, ptrdiff_t count,
                        uint8_t *digests);

/// 1 when this processor has the SHA extensions (SHA-NI) with SSSE3 and SSE4.1, else 0.
int csha256_ni_available(void);

/// The same digests as `csha256_lanes_hash`, one message at a time with the SHA extensions. Only call it when
/// `csha256_ni_available()` returned 1.
void csha256_ni_hash(const uint8_t *base, const ptrdiff_t *starts, const ptrdiff_t *ends, ptrdiff_t count,
                     uint8_t *digests);

#endif

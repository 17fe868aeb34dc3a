// Multi-buffer SHA-256: eight independent messages hashed at once, one in each 32-bit lane of an AVX2 register.
// Each lane walks its own message block by block (the last one or two blocks, with the padding, from a small
// buffer of its own); a lane whose message is done stores the digest and takes the next message. The compiled
// code runs only after a run-time check (CPUID and XGETBV) says AVX2 works here; elsewhere the caller hashes one
// message at a time with swift-crypto. Where the processor has the SHA extensions (SHA-NI), `csha256_ni_hash`
// hashes one message at a time with them instead: about twice as fast again as the eight lanes.
// SHA256LanesTests holds the digests of both to swift-crypto's on every length.
#include "CSHA256Lanes.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

int csha256_lanes_available(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned int osxsave = 1u << 27, avx = 1u << 28;
    if ((c & osxsave) == 0 || (c & avx) == 0) return 0;
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;  // the OS saves XMM and YMM state
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) != 0;  // AVX2
}

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define LANES 8
#define TARGET __attribute__((target("avx2")))
#define ROTR(x, n) _mm256_or_si256(_mm256_srli_epi32((x), (n)), _mm256_slli_epi32((x), 32 - (n)))

// Rows: eight lanes' 32 bytes each, byte-swapped into big-endian words; out: word w of every lane in out[w].
TARGET static inline void transpose8(__m256i r[8], __m256i out[8]) {
    __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    out[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    out[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    out[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    out[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// One 64-byte block of each lane (blocks[l]) into the lanes' state s[0..7] (a..h).
TARGET static void compress8(__m256i s[8], const uint8_t *const blocks[LANES]) {
    const __m256i swap = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5,
                                          4, 11, 10, 9, 8, 15, 14, 13, 12);
    __m256i w[64];
    for (int half = 0; half < 2; half++) {
        __m256i rows[8];
        for (int l = 0; l < LANES; l++) {
            rows[l] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(blocks[l] + 32 * half)), swap);
        }
        transpose8(rows, w + 8 * half);
    }
    for (int t = 16; t < 64; t++) {
        __m256i x = w[t - 15], y = w[t - 2];
        __m256i s0 = _mm256_xor_si256(_mm256_xor_si256(ROTR(x, 7), ROTR(x, 18)), _mm256_srli_epi32(x, 3));
        __m256i s1 = _mm256_xor_si256(_mm256_xor_si256(ROTR(y, 17), ROTR(y, 19)), _mm256_srli_epi32(y, 10));
        w[t] = _mm256_add_epi32(_mm256_add_epi32(w[t - 16], s0), _mm256_add_epi32(w[t - 7], s1));
    }
    __m256i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (int t = 0; t < 64; t++) {
        __m256i S1 = _mm256_xor_si256(_mm256_xor_si256(ROTR(e, 6), ROTR(e, 11)), ROTR(e, 25));
        __m256i ch = _mm256_xor_si256(_mm256_and_si256(e, f), _mm256_andnot_si256(e, g));
        __m256i t1 = _mm256_add_epi32(_mm256_add_epi32(h, S1),
                                      _mm256_add_epi32(ch, _mm256_add_epi32(_mm256_set1_epi32((int)K[t]), w[t])));
        __m256i S0 = _mm256_xor_si256(_mm256_xor_si256(ROTR(a, 2), ROTR(a, 13)), ROTR(a, 22));
        __m256i maj = _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(c, _mm256_or_si256(a, b)));
        __m256i t2 = _mm256_add_epi32(S0, maj);
        h = g;
        g = f;
        f = e;
        e = _mm256_add_epi32(d, t1);
        d = c;
        c = b;
        b = a;
        a = _mm256_add_epi32(t1, t2);
    }
    s[0] = _mm256_add_epi32(s[0], a);
    s[1] = _mm256_add_epi32(s[1], b);
    s[2] = _mm256_add_epi32(s[2], c);
    s[3] = _mm256_add_epi32(s[3], d);
    s[4] = _mm256_add_epi32(s[4], e);
    s[5] = _mm256_add_epi32(s[5], f);
    s[6] = _mm256_add_epi32(s[6], g);
    s[7] = _mm256_add_epi32(s[7], h);
}

struct lane {
    ptrdiff_t message;      // index of the message, -1 when idle
    const uint8_t *next;    // the next whole block of the message itself
    ptrdiff_t whole;        // whole blocks of the message left
    ptrdiff_t tailDone;     // tail blocks done
    ptrdiff_t tailCount;    // 1 or 2: the rest of the message, 0x80, zeros, the length in bits
    uint8_t tail[128];
};

static void lane_start(struct lane *lane, const uint8_t *base, ptrdiff_t start, ptrdiff_t end, ptrdiff_t message) {
    ptrdiff_t length = end - start;
    ptrdiff_t rest = length % 64;
    lane->message = message;
    lane->next = base + start;
    lane->whole = length / 64;
    lane->tailDone = 0;
    lane->tailCount = rest + 9 <= 64 ? 1 : 2;
    memset(lane->tail, 0, sizeof lane->tail);
    if (rest > 0) memcpy(lane->tail, base + end - rest, (size_t)rest);
    lane->tail[rest] = 0x80;
    uint64_t bits = (uint64_t)length * 8;
    uint8_t *out = lane->tail + 64 * lane->tailCount - 8;
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(bits >> (56 - 8 * i));
}

TARGET static void set_lane(__m256i s[8], int lane, const uint32_t value[8]) {
    uint32_t words[8] __attribute__((aligned(32)));
    for (int i = 0; i < 8; i++) {
        _mm256_store_si256((__m256i *)words, s[i]);
        words[lane] = value[i];
        s[i] = _mm256_load_si256((const __m256i *)words);
    }
}

TARGET static void get_lane(const __m256i s[8], int lane, uint8_t *digest) {
    uint32_t words[8] __attribute__((aligned(32)));
    for (int i = 0; i < 8; i++) {
        _mm256_store_si256((__m256i *)words, s[i]);
        uint32_t v = words[lane];
        digest[4 * i] = (uint8_t)(v >> 24);
        digest[4 * i + 1] = (uint8_t)(v >> 16);
        digest[4 * i + 2] = (uint8_t)(v >> 8);
        digest[4 * i + 3] = (uint8_t)v;
    }
}

TARGET void csha256_lanes_hash(const uint8_t *base, const ptrdiff_t *starts, const ptrdiff_t *ends, ptrdiff_t count,
                               uint8_t *digests) {
    static const uint8_t idle[64] = {0};
    struct lane lanes[LANES];
    __m256i s[8];
    for (int i = 0; i < 8; i++) s[i] = _mm256_set1_epi32((int)IV[i]);
    ptrdiff_t taken = 0, active = 0;
    for (int l = 0; l < LANES; l++) {
        if (taken < count) {
            lane_start(&lanes[l], base, starts[taken], ends[taken], taken);
            taken++;
            active++;
        } else {
            lanes[l].message = -1;
        }
    }
    const uint8_t *blocks[LANES];
    while (active > 0) {
        for (int l = 0; l < LANES; l++) {
            struct lane *lane = &lanes[l];
            if (lane->message < 0) {
                blocks[l] = idle;
            } else if (lane->whole > 0) {
                blocks[l] = lane->next;
            } else {
                blocks[l] = lane->tail + 64 * lane->tailDone;
            }
        }
        compress8(s, blocks);
        for (int l = 0; l < LANES; l++) {
            struct lane *lane = &lanes[l];
            if (lane->message < 0) continue;
            if (lane->whole > 0) {
                lane->whole--;
                lane->next += 64;
                continue;
            }
            if (++lane->tailDone < lane->tailCount) continue;
            get_lane(s, l, digests + 32 * lane->message);
            if (taken < count) {
                lane_start(lane, base, starts[taken], ends[taken], taken);
                taken++;
                set_lane(s, l, IV);
            } else {
                lane->message = -1;
                active--;
            }
        }
    }
}

// ---- SHA extensions (SHA-NI): one message at a time, four rounds per instruction pair ----
#define NI_TARGET __attribute__((target("sha,sse4.1")))

int csha256_ni_available(void) {
    unsigned int a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned int sse41 = 1u << 19, ssse3 = 1u << 9;
    if ((c & sse41) == 0 || (c & ssse3) == 0) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 29)) != 0;  // SHA
}

// `count` 64-byte blocks at `data` into the state (ABEF, CDGH as the SHA instructions keep it).
NI_TARGET static void ni_blocks(__m128i *abef, __m128i *cdgh, const uint8_t *data, ptrdiff_t count) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i state0 = *abef, state1 = *cdgh;
    while (count-- > 0) {
        __m128i save0 = state0, save1 = state1, msg, tmp;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), swap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), swap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), swap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), swap);
        __m128i m[4] = {m0, m1, m2, m3};
#pragma GCC unroll 16
        for (int r = 0; r < 16; r++) {
            // Rounds 4r..4r+3 with message words m[r % 4] (already scheduled).
            msg = _mm_add_epi32(m[r & 3], _mm_loadu_si128((const __m128i *)(K + 4 * r)));
            state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
            if (r >= 3 && r < 15) {
                // Schedule m[(r + 1) % 4] = words 4(r+1)..: finish with the words just used.
                tmp = _mm_alignr_epi8(m[r & 3], m[(r + 3) & 3], 4);
                m[(r + 1) & 3] = _mm_add_epi32(m[(r + 1) & 3], tmp);
                m[(r + 1) & 3] = _mm_sha256msg2_epu32(m[(r + 1) & 3], m[r & 3]);
            }
            msg = _mm_shuffle_epi32(msg, 0x0E);
            state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
            if (r >= 1 && r < 13) m[(r + 3) & 3] = _mm_sha256msg1_epu32(m[(r + 3) & 3], m[r & 3]);
        }
        state0 = _mm_add_epi32(state0, save0);
        state1 = _mm_add_epi32(state1, save1);
        data += 64;
    }
    *abef = state0;
    *cdgh = state1;
}

NI_TARGET void csha256_ni_hash(const uint8_t *base, const ptrdiff_t *starts, const ptrdiff_t *ends, ptrdiff_t count,
                               uint8_t *digests) {
    // The initial state as the instructions keep it: ABEF and CDGH.
    const __m128i iv0 = _mm_set_epi32((int)IV[0], (int)IV[1], (int)IV[4], (int)IV[5]);
    const __m128i iv1 = _mm_set_epi32((int)IV[2], (int)IV[3], (int)IV[6], (int)IV[7]);
    for (ptrdiff_t i = 0; i < count; i++) {
        const uint8_t *message = base + starts[i];
        ptrdiff_t length = ends[i] - starts[i];
        __m128i abef = iv0, cdgh = iv1;
        ni_blocks(&abef, &cdgh, message, length / 64);
        // The rest, 0x80, zeros and the length in bits: one or two blocks.
        uint8_t tail[128];
        ptrdiff_t rest = length % 64;
        ptrdiff_t tailCount = rest + 9 <= 64 ? 1 : 2;
        memset(tail, 0, sizeof tail);
        if (rest > 0) memcpy(tail, message + length - rest, (size_t)rest);
        tail[rest] = 0x80;
        uint64_t bits = (uint64_t)length * 8;
        uint8_t *out = tail + 64 * tailCount - 8;
        for (int b = 0; b < 8; b++) out[b] = (uint8_t)(bits >> (56 - 8 * b));
        ni_blocks(&abef, &cdgh, tail, tailCount);
        // ABEF, CDGH back to A..H, big-endian.
        __m128i feba = _mm_shuffle_epi32(abef, 0x1B), dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0), hgfe = _mm_alignr_epi8(dchg, feba, 8);
        const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
        _mm_storeu_si128((__m128i *)(digests + 32 * i), _mm_shuffle_epi8(dcba, swap));
        _mm_storeu_si128((__m128i *)(digests + 32 * i + 16), _mm_shuffle_epi8(hgfe, swap));
    }
}

#else

int csha256_lanes_available(void) { return 0; }

int csha256_ni_available(void) { return 0; }

void csha256_ni_hash(const uint8_t *base, const ptrdiff_t *starts, const ptrdiff_t *ends, ptrdiff_t count,
                     uint8_t *digests) {
    (void)base;
    (void)starts;
    (void)ends;
    (void)count;
    (void)digests;
}

void csha256_lanes_hash(const uint8_t *base, const ptrdiff_t *starts, const ptrdiff_t *ends, ptrdiff_t count,
                        uint8_t *digests) {
    (void)base;
    (void)starts;
    (void)ends;
    (void)count;
    (void)digests;
}

#endif

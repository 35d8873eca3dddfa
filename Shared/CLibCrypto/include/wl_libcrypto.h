// The few OpenSSL libcrypto operations the transport layer needs (Debian's libssl-dev): X25519,
// ChaCha20-Poly1305, and P-256 keys with the self-signed certificate that binds a storage node's
// TLS to its on-chain network key. Every function returns 1 on success and 0 on failure.
#ifndef WL_LIBCRYPTO_H
#define WL_LIBCRYPTO_H

#include <stddef.h>
#include <stdint.h>

/// A fresh X25519 key pair.
int wl_x25519_keypair(uint8_t priv[32], uint8_t pub[32]);
/// The X25519 shared secret; fails on a low-order peer key (an all-zero result).
int wl_x25519_shared(uint8_t out[32], const uint8_t priv[32], const uint8_t peer[32]);

/// Seals `len` bytes with ChaCha20-Poly1305 into `out` (len + 16 bytes: ciphertext, then tag).
int wl_chacha20poly1305_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                             const uint8_t *in, size_t len, uint8_t *out);
/// Opens `len` bytes (ciphertext and 16-byte tag) into `out` (len - 16 bytes); 0 when forged.
int wl_chacha20poly1305_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                             const uint8_t *in, size_t len, uint8_t *out);

/// A fresh P-256 private key as a 32-byte big-endian scalar.
int wl_p256_generate(uint8_t priv[32]);
/// The compressed (33-byte) public key of a P-256 scalar; 0 when the scalar is not a valid key.
int wl_p256_public(const uint8_t priv[32], uint8_t compressed[33]);
/// Whether 33 bytes are a compressed point on P-256.
int wl_p256_valid_public(const uint8_t compressed[33]);
/// The compressed public key inside a DER SubjectPublicKeyInfo, when it is a P-256 key.
int wl_p256_spki_public(const uint8_t *spki, size_t spki_len, uint8_t compressed[33]);
/// The private key and a self-signed X.509 certificate for it (ECDSA with SHA-256, valid from an
/// hour ago for `days`), both PEM, in `key_pem` and `cert_pem` (NUL-terminated, within their
/// capacities). The certificate names `common_name`, and `sans` (comma-separated DNS names or IP
/// addresses) as subject alternative names.
int wl_p256_self_signed(const uint8_t priv[32], const char *common_name, const char *sans, int days,
                        char *key_pem, size_t key_cap, char *cert_pem, size_t cert_cap);
/// The private key of a P-256 scalar as PEM (PKCS#8), NUL-terminated within `cap`.
int wl_p256_private_pem(const uint8_t priv[32], char *pem, size_t cap);
/// The P-256 scalar of a PEM private key (PKCS#8 or SEC1).
int wl_p256_private_from_pem(const char *pem, size_t len, uint8_t priv[32]);

#endif

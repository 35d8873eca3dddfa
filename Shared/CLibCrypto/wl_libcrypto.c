// See include/wl_libcrypto.h. The EC_KEY calls are deprecated in OpenSSL 3 but remain the shortest
// way from a raw scalar to a key; they are fully supported in the 3.x series.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "wl_libcrypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

int wl_x25519_keypair(uint8_t priv[32], uint8_t pub[32]) {
    int ok = 0;
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
    size_t privLen = 32, pubLen = 32;
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key) == 1 &&
        EVP_PKEY_get_raw_private_key(key, priv, &privLen) == 1 && EVP_PKEY_get_raw_public_key(key, pub, &pubLen) == 1 &&
        privLen == 32 && pubLen == 32)
        ok = 1;
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int wl_x25519_shared(uint8_t out[32], const uint8_t priv[32], const uint8_t peer[32]) {
    int ok = 0;
    EVP_PKEY *own = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    EVP_PKEY *other = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = own ? EVP_PKEY_CTX_new(own, NULL) : NULL;
    size_t len = 32;
    if (ctx && other && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, other) == 1 &&
        EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32) {
        uint8_t any = 0;
        for (int i = 0; i < 32; i++) any |= out[i];
        ok = any != 0;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(own);
    EVP_PKEY_free(other);
    return ok;
}

static int chacha(int encrypt, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                  const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]) {
    if (len > (size_t)INT32_MAX || aad_len > (size_t)INT32_MAX) return 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = 0, n = 0;
    if (!ctx || EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce, encrypt) != 1) goto done;
    if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1) goto done;
    if (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) goto done;
    if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1) goto done;
    if (EVP_CipherFinal_ex(ctx, out + n, &n) != 1) goto done;
    if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1) goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

int wl_chacha20poly1305_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                             const uint8_t *in, size_t len, uint8_t *out) {
    return chacha(1, key, nonce, aad, aad_len, in, len, out, out + len);
}

int wl_chacha20poly1305_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                             const uint8_t *in, size_t len, uint8_t *out) {
    if (len < 16) return 0;
    uint8_t tag[16];
    memcpy(tag, in + len - 16, 16);
    return chacha(0, key, nonce, aad, aad_len, in, len - 16, out, tag);
}

/// The EC key for a scalar in [1, n), with its public point.
static EC_KEY *p256_key(const uint8_t priv[32]) {
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *d = BN_bin2bn(priv, 32, NULL);
    EC_POINT *point = NULL;
    if (!ec || !d || BN_is_zero(d)) goto fail;
    const EC_GROUP *group = EC_KEY_get0_group(ec);
    if (BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) goto fail;
    point = EC_POINT_new(group);
    if (!point || EC_POINT_mul(group, point, d, NULL, NULL, NULL) != 1) goto fail;
    if (EC_KEY_set_private_key(ec, d) != 1 || EC_KEY_set_public_key(ec, point) != 1) goto fail;
    EC_POINT_free(point);
    BN_clear_free(d);
    return ec;
fail:
    EC_POINT_free(point);
    BN_clear_free(d);
    EC_KEY_free(ec);
    return NULL;
}

static int compress(const EC_KEY *ec, uint8_t out[33]) {
    const EC_POINT *point = EC_KEY_get0_public_key(ec);
    return point && EC_POINT_point2oct(EC_KEY_get0_group(ec), point, POINT_CONVERSION_COMPRESSED, out, 33, NULL) == 33;
}

int wl_p256_generate(uint8_t priv[32]) {
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    int ok = ec && EC_KEY_generate_key(ec) == 1 && BN_bn2binpad(EC_KEY_get0_private_key(ec), priv, 32) == 32;
    EC_KEY_free(ec);
    return ok;
}

int wl_p256_public(const uint8_t priv[32], uint8_t compressed[33]) {
    EC_KEY *ec = p256_key(priv);
    int ok = ec && compress(ec, compressed);
    EC_KEY_free(ec);
    return ok;
}

int wl_p256_valid_public(const uint8_t compressed[33]) {
    if (compressed[0] != 2 && compressed[0] != 3) return 0;
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    int ok = point && EC_POINT_oct2point(group, point, compressed, 33, NULL) == 1 && EC_POINT_is_on_curve(group, point, NULL) == 1 &&
             EC_POINT_is_at_infinity(group, point) == 0;
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return ok;
}

int wl_p256_spki_public(const uint8_t *spki, size_t spki_len, uint8_t compressed[33]) {
    if (spki_len > 4096) return 0;
    const unsigned char *p = spki;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)spki_len);
    EC_KEY *ec = key ? EVP_PKEY_get1_EC_KEY(key) : NULL;
    int ok = ec && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_X9_62_prime256v1 && compress(ec, compressed);
    EC_KEY_free(ec);
    EVP_PKEY_free(key);
    return ok;
}

static int to_pem(BIO *bio, char *out, size_t cap) {
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || (size_t)len + 1 > cap) return 0;
    memcpy(out, data, (size_t)len);
    out[len] = 0;
    return 1;
}

int wl_p256_self_signed(const uint8_t priv[32], const char *common_name, const char *sans, int days,
                        char *key_pem, size_t key_cap, char *cert_pem, size_t cert_cap) {
    int ok = 0;
    EC_KEY *ec = p256_key(priv);
    EVP_PKEY *key = EVP_PKEY_new();
    X509 *cert = X509_new();
    BIGNUM *serial = BN_new();
    X509_EXTENSION *ext = NULL;
    BIO *keyBio = BIO_new(BIO_s_mem()), *certBio = BIO_new(BIO_s_mem());
    if (!ec || !key || !cert || !serial || !keyBio || !certBio || days <= 0) goto done;
    if (EVP_PKEY_assign_EC_KEY(key, ec) != 1) goto done;
    ec = NULL;  // owned by key now
    if (X509_set_version(cert, 2) != 1) goto done;
    if (BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 || !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert))) goto done;
    if (!X509_gmtime_adj(X509_getm_notBefore(cert), -3600) || !X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400)) goto done;
    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)common_name, -1, -1, 0) != 1) goto done;
    if (X509_set_issuer_name(cert, name) != 1 || X509_set_pubkey(cert, key) != 1) goto done;
    if (sans && sans[0]) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, sans);
        if (!ext || X509_add_ext(cert, ext, -1) != 1) goto done;
    }
    if (X509_sign(cert, key, EVP_sha256()) <= 0) goto done;
    if (PEM_write_bio_PrivateKey(keyBio, key, NULL, NULL, 0, NULL, NULL) != 1 || PEM_write_bio_X509(certBio, cert) != 1) goto done;
    ok = to_pem(keyBio, key_pem, key_cap) && to_pem(certBio, cert_pem, cert_cap);
done:
    X509_EXTENSION_free(ext);
    BIO_free(keyBio);
    BIO_free(certBio);
    BN_free(serial);
    X509_free(cert);
    EVP_PKEY_free(key);
    EC_KEY_free(ec);
    return ok;
}

int wl_p256_private_pem(const uint8_t priv[32], char *pem, size_t cap) {
    EC_KEY *ec = p256_key(priv);
    EVP_PKEY *key = EVP_PKEY_new();
    BIO *bio = BIO_new(BIO_s_mem());
    int ok = ec && key && bio && EVP_PKEY_assign_EC_KEY(key, ec) == 1;
    if (ok) ec = NULL;  // owned by key now
    ok = ok && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1 && to_pem(bio, pem, cap);
    BIO_free(bio);
    EVP_PKEY_free(key);
    EC_KEY_free(ec);
    return ok;
}

int wl_p256_private_from_pem(const char *pem, size_t len, uint8_t priv[32]) {
    if (len > 65536) return 0;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    EC_KEY *ec = key ? EVP_PKEY_get1_EC_KEY(key) : NULL;
    int ok = ec && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_X9_62_prime256v1 && EC_KEY_get0_private_key(ec) &&
             BN_bn2binpad(EC_KEY_get0_private_key(ec), priv, 32) == 32;
    EC_KEY_free(ec);
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

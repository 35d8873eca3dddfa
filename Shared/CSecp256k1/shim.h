// libsecp256k1 with the schnorrsig and extrakeys modules, from Debian's libsecp256k1-dev.
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

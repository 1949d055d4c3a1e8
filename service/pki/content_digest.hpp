#pragma once
// Recognises a file the agent was given before without decrypting it again: an HMAC-SHA-256, under a key
// made at random for this process, of the password and the file's bytes. A PKCS #12's key derivation and
// decryption cost milliseconds; this costs microseconds. The key never leaves memory, so a digest kept
// beside an entry says nothing about the password to anyone who reads it later (and nothing is written to
// disk: after a restart the first re-install decrypts once and is remembered again).

#include <array>
#include <optional>
#include <string_view>

#include "service/secret.hpp"

namespace certdeploy::pki {

using ContentDigest = std::array<unsigned char, 32>;

class ContentDigester {
  public:
    // Throws std::runtime_error when the random generator fails (at start, never afterwards).
    ContentDigester();
    ~ContentDigester();
    ContentDigester(const ContentDigester&) = delete;
    ContentDigester& operator=(const ContentDigester&) = delete;

    // The password (none is told apart from an empty one) and the bytes, unambiguously framed. Nothing when
    // OpenSSL has no HMAC-SHA-256: the caller then decrypts, as it would for a file never seen.
    std::optional<ContentDigest> digest(const Secret* password, std::string_view file_bytes) const;

  private:
    std::array<unsigned char, 32> key_{};
};

}  // namespace certdeploy::pki

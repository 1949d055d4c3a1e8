#pragma once
// Identifiers nobody can guess or collide with: `bytes` random bytes from OpenSSL's generator, in lowercase
// hex (job ids, join tokens' handles, multipart boundaries, a controller's id).

#include <cstddef>
#include <string>

namespace certdeploy::codec {

// Throws std::runtime_error when the generator fails (it does not, once seeded by the kernel).
std::string random_hex(std::size_t bytes);

}  // namespace certdeploy::codec

#pragma once
// Standard base64 (RFC 4648, with padding), through libsodium.

#include <optional>
#include <string>
#include <string_view>

namespace certdeploy::codec {

// Empty when `text` is not base64; whitespace (line breaks of wrapped base64) is ignored.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

}  // namespace certdeploy::codec

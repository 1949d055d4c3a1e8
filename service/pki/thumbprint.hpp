#pragma once
// Thumbprints as administrators type them: any case, with or without colons or spaces.

#include <optional>
#include <string>
#include <string_view>

namespace certdeploy::pki {

// "ab:cd 12..." -> "ABCD12...", or nothing unless 40 hex digits remain.
std::optional<std::string> normalize_thumbprint(std::string_view text);

}  // namespace certdeploy::pki

#pragma once
// Host names as certdeploy takes them for servers and agents: usable as a file name and as a DNS SAN.

#include <string_view>

namespace certdeploy::net {

// Letters, digits, '-' and '.', 1 to 253 characters, not starting with '.' or '-'.
bool valid_host_name(std::string_view name) noexcept;

}  // namespace certdeploy::net

#pragma once
// Host names as certdeploy takes them for servers and agents: usable as a file name and as a DNS SAN.

#include <string_view>

namespace certdeploy::net {

// Letters, digits, '-' and '.', 1 to 253 characters, not starting with '.' or '-'.
bool valid_host_name(std::string_view name) noexcept;

// 127.0.0.0/8, ::1 (with or without brackets) or localhost: only this machine can reach it.
bool is_loopback(std::string_view host);

}  // namespace certdeploy::net

#pragma once
// A password or a private key in memory: never printed, never logged, wiped when dropped.
// The bytes live on the heap behind a unique_ptr, so moving a Secret moves a pointer and leaves no copy.

#include <memory>
#include <string>
#include <string_view>

namespace certdeploy {

class Secret {
  public:
    Secret();
    explicit Secret(std::string_view value);
    ~Secret();
    Secret(Secret&&) noexcept = default;
    Secret& operator=(Secret&& other) noexcept;
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;

    // The only way to the bytes; name the call sites that need them.
    std::string_view reveal() const noexcept { return value_ ? std::string_view(*value_) : std::string_view(); }
    const char* c_str() const noexcept { return value_ ? value_->c_str() : ""; }
    std::size_t size() const noexcept { return value_ ? value_->size() : 0; }
    bool empty() const noexcept { return size() == 0; }

    // Wipes the old bytes before taking a copy of `value`.
    void assign(std::string_view value);

  private:
    void wipe() noexcept;
    std::unique_ptr<std::string> value_;
};

// Wipes a std::string's whole buffer (OPENSSL_cleanse), e.g. a PEM text holding a private key.
void wipe(std::string& text) noexcept;

}  // namespace certdeploy

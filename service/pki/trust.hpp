#pragma once
// The roots a certificate's status is judged against: the system's (Debian's ca-certificates) unless
// turned off, plus any extra CA files. Built once; read by many threads.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "service/error.hpp"
#include "service/pki/bundle.hpp"
#include "service/pki/pki_context.hpp"

namespace certdeploy::pki {

// Exchange's Status values.
enum class Status {
    valid,         // "Valid": the chain builds to a trusted root and every date holds
    untrusted,     // "Untrusted": no trusted root
    date_invalid,  // "DateInvalid": expired or not yet valid somewhere in the chain
    invalid,       // "Invalid": a bad signature, an unusable key or a certificate that may not issue
};
std::string_view status_name(Status status) noexcept;
bool parse_status(std::string_view text, Status& out) noexcept;  // case-insensitive

class TrustStore {
  public:
    // Errors: io-error when a CA file cannot be read, unreadable-certificate when it holds no certificate.
    static Result<std::shared_ptr<const TrustStore>> create(std::shared_ptr<const PkiContext> ctx,
                                                            const std::vector<std::filesystem::path>& ca_files,
                                                            bool use_system_roots = true);

    // Verifies the leaf with the bundle's chain as untrusted intermediates, at `now`.
    Status evaluate(const Bundle& bundle,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

    TrustStore(std::shared_ptr<const PkiContext> ctx, X509StorePtr store);

  private:
    std::shared_ptr<const PkiContext> ctx_;
    X509StorePtr store_;
};

}  // namespace certdeploy::pki

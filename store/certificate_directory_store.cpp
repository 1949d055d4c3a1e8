#include "store/certificate_directory_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>

#include "service/try.hpp"

namespace certdeploy::store {
namespace {

constexpr std::string_view kTempPrefix = ".tmp-";
constexpr std::string_view kTrashPrefix = ".trash-";

StoreError failure(const std::string& what, const std::filesystem::path& path) {
    const int err = errno;
    return StoreError{err, what + " " + path.string() + ": " + std::strerror(err)};
}

std::string random_suffix() {
    std::random_device rd;
    return std::to_string(rd()) + std::to_string(rd());
}

StoreResult<void> fsync_path(const std::filesystem::path& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
        return failure("cannot open", path);
    }
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) {
        return failure("cannot flush", path);
    }
    return {};
}

StoreResult<void> write_one(const std::filesystem::path& path, std::string_view bytes, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return failure("cannot create", path);
    }
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            auto error = failure("cannot write", path);
            ::close(fd);
            return error;
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
        auto error = failure("cannot flush", path);
        ::close(fd);
        return error;
    }
    if (::close(fd) != 0) {
        return failure("cannot close", path);
    }
    return {};
}

bool valid_id(const std::string& id) {
    return !id.empty() && id.size() <= 128 && id.front() != '.' && id.find('/') == std::string::npos;
}

}  // namespace

CertificateDirectoryStore::CertificateDirectoryStore(std::filesystem::path root) : root_(std::move(root)) {}

StoreResult<void> CertificateDirectoryStore::open() {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) {
        errno = ec.value();
        return failure("cannot create the store", root_);
    }
    if (::chmod(root_.c_str(), 0700) != 0) {
        return failure("cannot restrict", root_);
    }
    for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
        const auto name = entry.path().filename().string();
        if (name.rfind(kTempPrefix, 0) == 0 || name.rfind(kTrashPrefix, 0) == 0) {
            std::filesystem::remove_all(entry.path(), ec);  // an interrupted change: the old state stands
        }
    }
    if (ec) {
        errno = ec.value();
        return failure("cannot read the store", root_);
    }
    return {};
}

StoreResult<void> CertificateDirectoryStore::put(const std::string& id, std::vector<StoredFile> files) {
    auto wipe_all = [&files] {
        for (auto& file : files) {
            if (file.bytes.capacity() > 0) {
                OPENSSL_cleanse(file.bytes.data(), file.bytes.capacity());
            }
        }
    };
    if (!valid_id(id)) {
        wipe_all();
        errno = EINVAL;
        return failure("invalid entry name", id);
    }
    const auto target = root_ / id;
    const auto temp = root_ / (std::string(kTempPrefix) + id + "-" + random_suffix());
    if (::mkdir(temp.c_str(), 0700) != 0) {
        wipe_all();
        return failure("cannot create", temp);
    }
    auto abandon = [&](StoreError error) {
        wipe_all();
        std::error_code ignored;
        std::filesystem::remove_all(temp, ignored);
        return error;
    };
    step("temporary directory created");
    for (const auto& file : files) {
        if (file.name.empty() || file.name.find('/') != std::string::npos) {
            errno = EINVAL;
            return abandon(failure("invalid file name", file.name));
        }
        if (auto written = write_one(temp / file.name, file.bytes, file.mode); !written) {
            return abandon(written.error());
        }
        step("file written");
    }
    wipe_all();
    if (auto synced = fsync_path(temp, O_RDONLY | O_DIRECTORY); !synced) {
        return abandon(synced.error());
    }
    step("temporary directory flushed");
    struct stat st {};
    if (::lstat(target.c_str(), &st) == 0) {
        // Swap the complete new directory with the old one in one step, then delete the old one.
        if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
            return abandon(failure("cannot replace", target));
        }
        step("directories exchanged");
        CERTDEPLOY_TRY(fsync_path(root_, O_RDONLY | O_DIRECTORY));
        step("store flushed");
        std::error_code ignored;
        std::filesystem::remove_all(temp, ignored);  // now the old entry
        return {};
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        return abandon(failure("cannot install", target));
    }
    step("directory renamed into place");
    return fsync_path(root_, O_RDONLY | O_DIRECTORY);
}

StoreResult<std::optional<std::vector<StoredFile>>> CertificateDirectoryStore::get(const std::string& id) const {
    if (!valid_id(id)) {
        return std::optional<std::vector<StoredFile>>();
    }
    const auto dir = root_ / id;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        return std::optional<std::vector<StoredFile>>();
    }
    std::vector<StoredFile> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return failure("cannot open", entry.path());
        }
        struct stat st {};
        ::fstat(fd, &st);
        StoredFile file{entry.path().filename().string(), {}, static_cast<mode_t>(st.st_mode & 07777)};
        char buf[16 * 1024];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                auto error = failure("cannot read", entry.path());
                ::close(fd);
                return error;
            }
            if (n == 0) {
                break;
            }
            file.bytes.append(buf, static_cast<std::size_t>(n));
        }
        OPENSSL_cleanse(buf, sizeof buf);
        ::close(fd);
        files.push_back(std::move(file));
    }
    if (ec) {
        errno = ec.value();
        return failure("cannot read", dir);
    }
    return std::optional<std::vector<StoredFile>>(std::move(files));
}

StoreResult<std::vector<std::string>> CertificateDirectoryStore::list() const {
    std::vector<std::string> ids;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
        const auto name = entry.path().filename().string();
        if (!name.empty() && name.front() != '.' && entry.is_directory()) {
            ids.push_back(name);
        }
    }
    if (ec) {
        errno = ec.value();
        return failure("cannot read the store", root_);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

StoreResult<bool> CertificateDirectoryStore::remove(const std::string& id) {
    if (!valid_id(id)) {
        return StoreResult<bool>(boost::system::in_place_value, false);
    }
    const auto target = root_ / id;
    const auto trash = root_ / (std::string(kTrashPrefix) + id + "-" + random_suffix());
    if (::rename(target.c_str(), trash.c_str()) != 0) {
        if (errno == ENOENT) {
            return StoreResult<bool>(boost::system::in_place_value, false);
        }
        return failure("cannot remove", target);
    }
    step("directory moved to trash");
    CERTDEPLOY_TRY(fsync_path(root_, O_RDONLY | O_DIRECTORY));
    step("store flushed");
    std::error_code ignored;
    std::filesystem::remove_all(trash, ignored);
    return StoreResult<bool>(boost::system::in_place_value, true);
}

}  // namespace certdeploy::store

#include "service/fs/atomic_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "service/fs/storage_error.hpp"

namespace certdeploy::fs {
namespace {

Error io_failure(const std::string& what, const std::filesystem::path& path, int err) {
    Error error = storage_error(err, what + " " + path.string() + ": " + std::strerror(err));
    if (error.code == ErrorCode::io_error) {
        error.message = what + " " + path.string() + ": " + std::strerror(err);
    }
    return error;
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_;
};

std::string random_suffix() {
    std::random_device rd;
    return std::to_string(rd()) + std::to_string(rd());
}

}  // namespace

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                                   std::optional<uid_t> owner, std::optional<gid_t> group) {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const auto tmp = dir / ("." + path.filename().string() + ".tmp-" + random_suffix());
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd.get() < 0) {
        return io_failure("cannot create", tmp, errno);
    }
    auto fail = [&](const char* what) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return io_failure(what, path, err);
    };
    // The umask may have narrowed the mode; set exactly what was asked. Owner and mode are set on the
    // descriptor before the rename: nothing is ever done by path to what ends up at `path`, which a service
    // user could have replaced with a symbolic link.
    if (::fchmod(fd.get(), mode) != 0) {
        return fail("cannot set the mode of");
    }
    if ((owner || group) &&
        ::fchown(fd.get(), owner.value_or(static_cast<uid_t>(-1)), group.value_or(static_cast<gid_t>(-1))) != 0) {
        return fail("cannot set the owner of");
    }
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail("cannot write");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
        return fail("cannot flush");
    }
    if (::close(fd.release()) != 0) {
        return fail("cannot close");
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail("cannot replace");
    }
    Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() >= 0) {
        ::fsync(dir_fd.get());
    }
    return {};
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return io_failure("cannot open", path, errno);
    }
    std::string out;
    char buf[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_failure("cannot read", path, errno);
        }
        if (n == 0) {
            OPENSSL_cleanse(buf, sizeof buf);  // the file may have been a key
            return out;
        }
        if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
            return make_error(ErrorCode::too_large,
                              path.filename().string() + " is larger than " + std::to_string(max_bytes) + " bytes");
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

Result<void> ensure_directory(const std::filesystem::path& dir, mode_t mode) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
        return {};
    }
    if (dir.has_parent_path() && dir.parent_path() != dir) {
        if (auto parent = ensure_directory(dir.parent_path(), 0755); !parent) {
            return parent.error();
        }
    }
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
        return io_failure("cannot create the directory", dir, errno);
    }
    ::chmod(dir.c_str(), mode);
    return {};
}

}  // namespace certdeploy::fs

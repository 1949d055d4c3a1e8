#include "service/controller/job_model.hpp"

namespace certdeploy::controller {
namespace {

template <class Enum, std::size_t N>
std::optional<Enum> parse(std::string_view text, const std::array<Enum, N>& all) noexcept {
    for (const auto value : all) {
        if (name(value) == text) {
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace

std::string_view name(JobKind kind) noexcept {
    switch (kind) {
        case JobKind::import:
            return "import";
        case JobKind::enable:
            return "enable";
        case JobKind::remove:
            return "remove";
        case JobKind::request:
            return "request";
    }
    return "import";
}

std::string_view name(JobState state) noexcept {
    switch (state) {
        case JobState::queued:
            return "queued";
        case JobState::running:
            return "running";
        case JobState::succeeded:
            return "succeeded";
        case JobState::failed:
            return "failed";
        case JobState::partiallySucceeded:
            return "partiallySucceeded";
        case JobState::cancelled:
            return "cancelled";
    }
    return "queued";
}

std::string_view name(TargetState state) noexcept {
    switch (state) {
        case TargetState::pending:
            return "pending";
        case TargetState::running:
            return "running";
        case TargetState::succeeded:
            return "succeeded";
        case TargetState::failed:
            return "failed";
        case TargetState::cancelled:
            return "cancelled";
    }
    return "pending";
}

std::optional<JobKind> parse_job_kind(std::string_view text) noexcept {
    return parse(text, kJobKinds);
}
std::optional<JobState> parse_job_state(std::string_view text) noexcept {
    return parse(text, kJobStates);
}
std::optional<TargetState> parse_target_state(std::string_view text) noexcept {
    return parse(text, kTargetStates);
}

int TargetCounts::total() const noexcept {
    int n = 0;
    for (const int count : byState) {
        n += count;
    }
    return n;
}

TargetCounts TargetCounts::from(const std::map<std::string, int>& counts) {
    TargetCounts out;
    for (const auto& [state, count] : counts) {
        if (auto parsed = parse_target_state(state)) {
            out[*parsed] += count;
        }
    }
    return out;
}

JobState job_state(const TargetCounts& c) noexcept {
    using T = TargetState;
    if (c[T::pending] + c[T::running] > 0) {
        const bool started = c[T::running] + c[T::succeeded] + c[T::failed] + c[T::cancelled] > 0;
        return started ? JobState::running : JobState::queued;
    }
    if (c[T::cancelled] > 0) {
        return JobState::cancelled;
    }
    if (c[T::failed] == 0) {
        return JobState::succeeded;
    }
    return c[T::succeeded] == 0 ? JobState::failed : JobState::partiallySucceeded;
}

bool is_final(JobState state) noexcept {
    return state != JobState::queued && state != JobState::running;
}

bool is_final(TargetState state) noexcept {
    return state != TargetState::pending && state != TargetState::running;
}

bool keep_upload(const TargetCounts& counts) noexcept {
    return counts[TargetState::failed] > 0;
}

bool can_move(TargetState from, TargetState to) noexcept {
    using T = TargetState;
    switch (from) {
        case T::pending:
            return to == T::running || to == T::cancelled || to == T::failed;
        case T::running:
            return to == T::succeeded || to == T::failed || to == T::pending || to == T::cancelled;
        case T::failed:
            return to == T::pending;
        case T::succeeded:
        case T::cancelled:
            return false;
    }
    return false;
}

}  // namespace certdeploy::controller

#pragma once
// A job's vocabulary and its state machine, as pure functions and nothing else: the kinds and states, how
// each is spelled (here only, besides the migrations' comments and SQL), which moves a target may make,
// a job's state from its targets' counts, what is final, and when a final job still needs its upload.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace certdeploy::controller {

enum class JobKind { import, enable, remove, request };
enum class JobState { queued, running, succeeded, failed, partiallySucceeded, cancelled };
enum class TargetState { pending, running, succeeded, failed, cancelled };

inline constexpr std::array<JobKind, 4> kJobKinds{JobKind::import, JobKind::enable, JobKind::remove, JobKind::request};
inline constexpr std::array<JobState, 6> kJobStates{
    JobState::queued,   JobState::running, JobState::succeeded, JobState::failed, JobState::partiallySucceeded,
    JobState::cancelled};
inline constexpr std::array<TargetState, 5> kTargetStates{
    TargetState::pending, TargetState::running, TargetState::succeeded, TargetState::failed, TargetState::cancelled};

// The API's and the store's spelling ("partiallySucceeded").
std::string_view name(JobKind kind) noexcept;
std::string_view name(JobState state) noexcept;
std::string_view name(TargetState state) noexcept;
// Empty for a word that names none.
std::optional<JobKind> parse_job_kind(std::string_view text) noexcept;
std::optional<JobState> parse_job_state(std::string_view text) noexcept;
std::optional<TargetState> parse_target_state(std::string_view text) noexcept;

// How many of a job's targets are in each state.
struct TargetCounts {
    std::array<int, kTargetStates.size()> byState{};

    int operator[](TargetState state) const noexcept { return byState[static_cast<std::size_t>(state)]; }
    int& operator[](TargetState state) noexcept { return byState[static_cast<std::size_t>(state)]; }
    int total() const noexcept;
    // From the store's rows (state name -> count); names of no state are ignored.
    static TargetCounts from(const std::map<std::string, int>& counts);
};

// Queued until a target starts; running while any target is pending or running; then cancelled if a
// cancel stopped any target, succeeded if none failed, failed if none succeeded, else partiallySucceeded.
JobState job_state(const TargetCounts& counts) noexcept;

// Nothing more happens to a final job unless it is retried.
bool is_final(JobState state) noexcept;
bool is_final(TargetState state) noexcept;

// Whether a final job still needs its upload: a failed target may be retried.
bool keep_upload(const TargetCounts& counts) noexcept;

// The moves a target makes, and no others:
//   pending -> running    an attempt starts
//   pending -> cancelled  the job is cancelled before the target started
//   pending -> failed     nothing to attempt (its server was deleted)
//   running -> succeeded | failed    the agent answered, or refused
//   running -> pending    a transport failure, tried again after a backoff; or a restart found it running
//   running -> cancelled  the same, when the job's cancel came meanwhile
//   failed  -> pending    the job is retried
bool can_move(TargetState from, TargetState to) noexcept;

}  // namespace certdeploy::controller

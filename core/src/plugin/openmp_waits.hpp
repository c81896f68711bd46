// openmp_waits.hpp — how OpenMP threads wait, as chosen before the first
// plugin loads libgomp (registry.cpp): a machine found busy at the start
// gets OMP_WAIT_POLICY=passive. Not here: the thread count (the backend's).
#pragma once

#include <string>

namespace plinth {

// What was chosen and why, for the run's log; empty: libgomp's default or
// the user's own OMP_WAIT_POLICY / GOMP_SPINCOUNT.
std::string& openmp_wait_note();

}  // namespace plinth

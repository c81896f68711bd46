// status.cpp — mapping between the ABI's plinth_status and the core's errc.
#include "plinth/status.hpp"

namespace plinth {

errc from_abi(plinth_status s) {
  switch (s) {
    case PLINTH_OK:
      return errc::ok;
    case PLINTH_ERR_INVALID_ARGUMENT:
      return errc::invalid_argument;
    case PLINTH_ERR_UNSUPPORTED:
      return errc::unsupported;
    case PLINTH_ERR_OUT_OF_MEMORY:
      return errc::out_of_memory;
    case PLINTH_ERR_IO:
      return errc::io;
    case PLINTH_ERR_NOT_FOUND:
      return errc::not_found;
    case PLINTH_ERR_TIMEOUT:
      return errc::timeout;
    case PLINTH_ERR_BAD_DATA:
      return errc::bad_data;
    case PLINTH_ERR_UNAVAILABLE:
      return errc::unavailable;
    case PLINTH_ERR_INTERNAL:
      return errc::internal;
  }
  return errc::internal;  // an out-of-range code from a plugin
}

plinth_status to_abi(errc c) {
  switch (c) {
    case errc::ok:
      return PLINTH_OK;
    case errc::invalid_argument:
      return PLINTH_ERR_INVALID_ARGUMENT;
    case errc::unsupported:
      return PLINTH_ERR_UNSUPPORTED;
    case errc::out_of_memory:
      return PLINTH_ERR_OUT_OF_MEMORY;
    case errc::io:
      return PLINTH_ERR_IO;
    case errc::not_found:
      return PLINTH_ERR_NOT_FOUND;
    case errc::timeout:
      return PLINTH_ERR_TIMEOUT;
    case errc::bad_data:
      return PLINTH_ERR_BAD_DATA;
    case errc::unavailable:
      return PLINTH_ERR_UNAVAILABLE;
    case errc::config:
      return PLINTH_ERR_INVALID_ARGUMENT;
    case errc::cancelled:
    case errc::internal:
      return PLINTH_ERR_INTERNAL;
  }
  return PLINTH_ERR_INTERNAL;
}

}  // namespace plinth

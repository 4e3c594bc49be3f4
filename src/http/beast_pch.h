// Precompiled header for the HTTP layer: Beast and Asio are the slow includes.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

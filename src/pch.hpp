// Precompiled header for the library and its users: the heavy, stable headers.
#pragma once
#include <xtensor/xtensor.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor-blas/xlinalg.hpp>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>
#include <string>
#include <vector>

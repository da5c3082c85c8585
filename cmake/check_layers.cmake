# The layers of LatentLab and the only directions their includes may point
# (README, Layout). Run at configure time by CMakeLists.txt (a violation stops
# the build) and as the ctest `Layers.*`:
#   cmake -DROOT=<source dir> -P cmake/check_layers.cmake
#
#   core ← linalg, io ← data ← models ← optim ← analysis ← train ← config ← cli
#                                                                  tools, python (beside cli)
# A file in include/latentlab/<layer>/ or src/<layer>/ may include
# "latentlab/<other>/..." only for <other> in its layer's list below; third-
# party headers are confined likewise (YAML to config, logging to train and
# up, the CLI parser to cli, <cblas.h> to linalg). The Python bindings
# (python/*.cpp) are a layer beside cli: any layer below it, and logging.

cmake_policy(VERSION 3.18)
set(LAYERS core linalg io data models optim analysis train config cli tools python)
set(ALLOWED_core "")
set(ALLOWED_linalg core)
set(ALLOWED_io core)
set(ALLOWED_data core linalg io)
set(ALLOWED_models core linalg io data)
set(ALLOWED_optim core linalg io data models)
set(ALLOWED_analysis core linalg io data models optim)
set(ALLOWED_train core linalg io data models optim analysis)
set(ALLOWED_config core linalg io data models optim analysis train)
set(ALLOWED_cli core linalg io data models optim analysis train config)
set(ALLOWED_tools core linalg io data models optim analysis train config)
# python/*.cpp: the module's C++ side (README, From Python).
set(ALLOWED_python core linalg io data models optim analysis train config)
# Third-party headers: "pattern|layers that may include it".
set(THIRD_PARTY
  "yaml-cpp/|config"
  "spdlog/|train,config,cli,tools,python"
  "CLI/|cli,tools"
  "cblas.h|linalg"
  "mpi.h|cli")

if(NOT ROOT)
  message(FATAL_ERROR "check_layers.cmake: set ROOT to the source directory")
endif()

set(violations "")
foreach(layer IN LISTS LAYERS)
  file(GLOB_RECURSE files "${ROOT}/include/latentlab/${layer}/*.hpp" "${ROOT}/src/${layer}/*.hpp"
       "${ROOT}/src/${layer}/*.cpp")
  if(layer STREQUAL "python")
    file(GLOB files "${ROOT}/python/*.cpp" "${ROOT}/python/*.hpp")
  endif()
  foreach(f IN LISTS files)
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include")
    file(RELATIVE_PATH rel "${ROOT}" "${f}")
    foreach(line IN LISTS lines)
      if(line MATCHES "#[ \t]*include[ \t]*\"\\.\\./")
        string(STRIP "${line}" line)
        list(APPEND violations "  ${rel} (${layer}) includes by a relative path (name the layer: \"latentlab/<layer>/...\"): ${line}")
      endif()
      if(line MATCHES "latentlab/([a-z_]+)/")
        set(target "${CMAKE_MATCH_1}")
        if(NOT target STREQUAL layer AND NOT target IN_LIST ALLOWED_${layer})
          string(STRIP "${line}" line)
          list(APPEND violations "  ${rel} (${layer}) includes ${target}: ${line}")
        endif()
      endif()
      foreach(rule IN LISTS THIRD_PARTY)
        string(REPLACE "|" ";" parts "${rule}")
        list(GET parts 0 pattern)
        list(SUBLIST parts 1 -1 owners)
        string(REPLACE "," ";" owners "${owners}")
        string(FIND "${line}" "<${pattern}" at)
        string(FIND "${line}" "\"${pattern}" at_quoted)
        if((at GREATER -1 OR at_quoted GREATER -1) AND NOT layer IN_LIST owners)
          string(STRIP "${line}" line)
          list(JOIN owners ", " owner_text)
          list(APPEND violations "  ${rel} (${layer}) includes a header reserved for ${owner_text}: ${line}")
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()

if(violations)
  list(SORT violations)
  list(JOIN violations "\n" text)
  message(FATAL_ERROR "Includes that point up the layers (see cmake/check_layers.cmake):\n${text}\n")
endif()

# fastai_layer(NAME [DEPS ...] [PRIVATE_DEPS ...] [SOURCES ...]): one static library per layer from
# src/NAME/*.cpp (or SOURCES), public headers in include/fastai/NAME, unity-built, warnings on.
# DEPS are what the layer's public headers need; PRIVATE_DEPS only its implementation (a static
# library still passes them on at link time). tests/tools/check_layering.sh reads these calls:
# a file of layer NAME may include headers of NAME, its DEPS and PRIVATE_DEPS, and theirs.
function(fastai_layer name)
  cmake_parse_arguments(L "" "" "DEPS;PRIVATE_DEPS;SOURCES" ${ARGN})
  if(L_SOURCES)
    set(srcs ${L_SOURCES})
  else()
    file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  endif()
  if(NOT srcs)
    message(FATAL_ERROR "layer ${name}: no sources in src/${name}")
  endif()
  add_library(fastai_${name} STATIC ${srcs})
  add_library(fastai::${name} ALIAS fastai_${name})
  target_include_directories(fastai_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(fastai_${name} PUBLIC ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  target_compile_options(fastai_${name} PRIVATE -Wall -Wextra)
  set_target_properties(fastai_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME ${name})
  fastai_unity(fastai_${name})
  set_property(GLOBAL APPEND PROPERTY FASTAI_LAYERS ${name})
endfunction()

function(fastai_unity target)
  if(FASTAI_UNITY)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()

# fastai_layer(NAME DEPS ...): one static library per layer from src/NAME/*.cpp, public headers
# in include/fastai/NAME, unity-built, warnings on.
function(fastai_layer name)
  cmake_parse_arguments(L "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT srcs)
    message(FATAL_ERROR "layer ${name}: no sources in src/${name}")
  endif()
  add_library(fastai_${name} STATIC ${srcs})
  add_library(fastai::${name} ALIAS fastai_${name})
  target_include_directories(fastai_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(fastai_${name} PUBLIC ${L_DEPS})
  target_compile_options(fastai_${name} PRIVATE -Wall -Wextra)
  set_target_properties(fastai_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME ${name})
  fastai_unity(fastai_${name})
endfunction()

function(fastai_unity target)
  if(FASTAI_UNITY)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()

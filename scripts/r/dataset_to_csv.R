# Rscript scripts/r/dataset_to_csv.R NAME OUTDIR
#
# Writes one registry dataset (see scripts/data.sh) from an installed Debian R data package into
# OUTDIR, as the library's CSV reader expects (the dialect of ../shared/data/README.md):
#   - comma separated, "\n" line ends, UTF-8, one record per line, a header row;
#   - text and factor cells in double quotes with inner quotes doubled; numbers and TRUE / FALSE bare;
#   - a missing value (NA) is an empty field;
#   - doubles with 15 significant digits, or 17 when 15 do not give back the same double;
#   - header names are quoted when the table has a text or factor column (R's write.csv habit, kept
#     so that the files are byte-identical to the reference conversion).
# Beside each <table>.csv, <table>.columns.tsv lists each column's R type, its factor levels in R's
# order ("|"-separated; low to high for ordered factors) and its number of missing values.
# Every CSV is read back and compared with the data frame; any difference stops the script.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript dataset_to_csv.R NAME OUTDIR")
name <- args[[1]]
out <- args[[2]]
dir.create(out, recursive = TRUE, showWarnings = FALSE)

# An object of a package's lazy-loaded data, without attaching the package.
pkg_data <- function(pkg, set, object = set) {
  env <- new.env()
  utils::data(list = set, package = pkg, envir = env)
  if (!exists(object, envir = env, inherits = FALSE)) stop("no object ", object, " in ", pkg, "::", set)
  get(object, envir = env, inherits = FALSE)
}

r_type <- function(v) {
  if (is.ordered(v)) return("ordered")
  if (is.factor(v)) return("factor")
  class(v)[[1]]
}

# One column as CSV cells.
cells <- function(v) {
  if (is.factor(v)) v <- as.character(v)
  if (is.character(v)) {
    s <- paste0("\"", gsub("\"", "\"\"", enc2utf8(v), fixed = TRUE), "\"")
  } else if (is.logical(v)) {
    s <- ifelse(v, "TRUE", "FALSE")
  } else if (is.integer(v)) {
    s <- format(v, scientific = FALSE, trim = TRUE)
  } else if (is.double(v)) {
    s <- sprintf("%.15g", v)
    lossy <- !is.na(v) & suppressWarnings(as.double(s)) != v
    lossy[is.na(lossy)] <- FALSE
    s[lossy] <- sprintf("%.17g", v[lossy])
  } else {
    stop("column of unsupported type ", class(v)[[1]])
  }
  s[is.na(v)] <- ""
  s
}

# Reads `path` back with the types of `df` and stops unless every value is the same.
check_back <- function(df, path) {
  classes <- vapply(df, function(v) if (is.factor(v)) "character" else class(v)[[1]], "")
  back <- utils::read.csv(path, colClasses = unname(classes), na.strings = "", encoding = "UTF-8",
                          check.names = FALSE, stringsAsFactors = FALSE)
  if (!identical(names(back), names(df)) || nrow(back) != nrow(df))
    stop(path, ": read back with a different shape")
  for (col in names(df)) {
    a <- df[[col]]
    b <- back[[col]]
    if (is.factor(a)) a <- as.character(a)
    if (is.character(a)) a <- enc2utf8(a)
    if (!identical(is.na(a), is.na(b)) || any(a[!is.na(a)] != b[!is.na(b)]))
      stop(path, ": column ", col, " reads back differently")
  }
}

write_csv_table <- function(df, file) {
  df <- as.data.frame(df, stringsAsFactors = FALSE)
  path <- file.path(out, file)
  text_cols <- vapply(df, function(v) is.character(v) || is.factor(v), TRUE)
  header <- if (any(text_cols)) paste0("\"", names(df), "\"") else names(df)
  body <- do.call(paste, c(lapply(df, cells), sep = ","))
  con <- file(path, open = "wb")
  writeLines(c(paste(header, collapse = ","), body), con, sep = "\n", useBytes = TRUE)
  close(con)
  check_back(df, path)
  info <- data.frame(column = names(df),
                     type = vapply(df, r_type, ""),
                     levels = vapply(df, function(v) if (is.factor(v)) paste(levels(v), collapse = "|") else "", ""),
                     n_missing = vapply(df, function(v) sum(is.na(v)), 0L))
  utils::write.table(info, file.path(out, sub("[.]csv$", ".columns.tsv", file)), sep = "\t", quote = FALSE,
                     row.names = FALSE)
  cat(sprintf("%s/%s: %d rows, %d columns\n", name, file, nrow(df), ncol(df)))
}

if (name == "credit_data") {
  write_csv_table(pkg_data("modeldata", "credit_data"), "credit_data.csv")
} else if (name == "diamonds") {
  write_csv_table(pkg_data("ggplot2", "diamonds"), "diamonds.csv")
} else if (name == "movielens") {
  # dslabs' one 7-column table becomes ml-latest-small's two files: ratings in their original
  # order, and one row per movie sorted by id (each id has a single title / year / genres).
  ml <- as.data.frame(pkg_data("dslabs", "movielens"))
  write_csv_table(ml[, c("userId", "movieId", "rating", "timestamp")], "ratings.csv")
  movies <- ml[!duplicated(ml$movieId), c("movieId", "title", "year", "genres")]
  movies <- movies[order(movies$movieId), ]
  movies$genres <- as.character(movies$genres)
  per_movie <- unique(ml[, c("movieId", "title", "year", "genres")])
  if (nrow(per_movie) != nrow(movies)) stop("movielens: a movie id with several titles, years or genres")
  write_csv_table(movies, "movies.csv")
} else if (name == "fine_foods") {
  # modeldata's small_fine_foods holds two tables; stacked, with is_valid marking the test rows.
  train <- as.data.frame(pkg_data("modeldata", "small_fine_foods", "training_data"))
  valid <- as.data.frame(pkg_data("modeldata", "small_fine_foods", "testing_data"))
  train$is_valid <- FALSE
  valid$is_valid <- TRUE
  write_csv_table(rbind(train, valid), "fine_foods.csv")
} else if (name == "janeausten") {
  # One text file per novel, one element of janeaustenr's character vector per line.
  novels <- list(sense_and_sensibility = "sensesensibility", pride_and_prejudice = "prideprejudice",
                 mansfield_park = "mansfieldpark", emma = "emma", northanger_abbey = "northangerabbey",
                 persuasion = "persuasion")
  for (file in names(novels)) {
    lines <- enc2utf8(pkg_data("janeaustenr", novels[[file]]))
    con <- file(file.path(out, paste0(file, ".txt")), open = "wb")
    writeLines(lines, con, sep = "\n", useBytes = TRUE)
    close(con)
    cat(sprintf("janeausten/%s.txt: %d lines\n", file, length(lines)))
  }
} else {
  stop("unknown dataset ", name, " (credit_data, diamonds, movielens, fine_foods, janeausten)")
}

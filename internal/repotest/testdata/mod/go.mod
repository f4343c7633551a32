module example.org/fixture

go 1.26

module github.com/vertebra-ml/vertebra

go 1.26.0

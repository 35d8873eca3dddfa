import ChainTypes

typealias ChainTypesValidatorSet = ValidatorSet

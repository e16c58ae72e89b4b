spectm samples ingest okeechobee_2024.csv --column-map okeechobee_2024.yaml
spectm twin generate --region lake_okeechobee --dates 2024-07-01:2024-07-28 --no-s2
spectm build-cube
spectm join
spectm train pretrain --config okeechobee_train.yaml --run-id okeechobee-pretrain --device cpu
spectm train regress --config okeechobee_train.yaml --encoder okeechobee-pretrain --run-id okeechobee-regress
spectm predict --checkpoint okeechobee-regress --dates 2024-07-22:2024-07-24
